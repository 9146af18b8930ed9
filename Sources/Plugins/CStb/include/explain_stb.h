#ifndef EXPLAIN_STB_H
#define EXPLAIN_STB_H
#include <stddef.h>
/* Thin wrappers over stb_image / stb_image_write (Debian libstb-dev), so Swift never touches
   stb's global variables. Decoded pixels are freed with explain_stb_free. */
unsigned char *explain_stb_decode(const unsigned char *bytes, int length, int *width, int *height, int *channels);
const char *explain_stb_failure(void);
void explain_stb_free(void *pixels);
/* Encodes 8-bit pixels (1-4 channels) as PNG; returns a malloc'ed buffer (free with explain_stb_free). */
unsigned char *explain_stb_encode_png(const unsigned char *pixels, int width, int height, int channels, int *length);
/* Text as axis-aligned quads (stb_easy_font): fills `rects` with x0,y0,x1,y1 per quad; returns the count. */
int explain_text_rects(const char *text, float *rects, int max_rects);
int explain_text_width(const char *text);
#endif
