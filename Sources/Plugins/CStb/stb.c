#include <stdlib.h>
#include <string.h>
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
#include <stb/stb_easy_font.h>
#include "explain_stb.h"

unsigned char *explain_stb_decode(const unsigned char *bytes, int length, int *width, int *height, int *channels) {
    return stbi_load_from_memory(bytes, length, width, height, channels, 0);
}

const char *explain_stb_failure(void) { return stbi_failure_reason(); }

void explain_stb_free(void *pixels) { free(pixels); }

unsigned char *explain_stb_encode_png(const unsigned char *pixels, int width, int height, int channels, int *length) {
    stbi_write_png_compression_level = 6;
    return stbi_write_png_to_mem(pixels, width * channels, width, height, channels, length);
}

int explain_text_rects(const char *text, float *rects, int max_rects) {
    /* stb_easy_font emits 4 vertices of 16 bytes (x, y, z, rgba) per quad. */
    static __thread char buffer[64 * 1024];
    int quads = stb_easy_font_print(0, 0, (char *)text, NULL, buffer, sizeof buffer);
    if (quads > max_rects) quads = max_rects;
    for (int q = 0; q < quads; q++) {
        float *v = (float *)(buffer + q * 64);
        rects[q * 4 + 0] = v[0];       /* vertex 0: x, y */
        rects[q * 4 + 1] = v[1];
        rects[q * 4 + 2] = v[8];       /* vertex 2: x, y (opposite corner) */
        rects[q * 4 + 3] = v[9];
    }
    return quads;
}

int explain_text_width(const char *text) { return stb_easy_font_width((char *)text); }
