#include <stdlib.h>
#include <string.h>
#define STB_IMAGE_IMPLEMENTATION
#define STBI_FAILURE_USERMSG
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_IMPLEMENTATION
#include <stb/stb_image_write.h>
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
