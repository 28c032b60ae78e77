/* What the program read from stdin replays from the trace; replay never
 * reads the real stdin. Prints the length and an uppercase copy. */
#include "fixture.h"
#include <ctype.h>

int main(void) {
  size_t capacity = 4096, length = 0;
  char *text = malloc(capacity);
  check(text != NULL);
  for (;;) {
    if (length == capacity) {
      capacity *= 2;
      text = realloc(text, capacity);
      check(text != NULL);
    }
    ssize_t n = read(STDIN_FILENO, text + length, capacity - length);
    check(n >= 0);
    if (n == 0) break;
    length += (size_t)n;
  }
  printf("length: %zu\n", length);
  for (size_t i = 0; i < length; i++) putchar(toupper((unsigned char)text[i]));
  if (length == 0 || text[length - 1] != '\n') putchar('\n');
  free(text);
  puts("EXIT-SUCCESS");
  return 0;
}
