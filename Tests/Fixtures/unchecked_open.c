/* Reads the first line of a file it never expects to miss: fopen's result is not checked,
 * so a failed open (an injected ENOENT or EACCES) crashes it in read_first_line, called
 * from main. */
#include <stdio.h>
#include <string.h>

static void read_first_line(const char *path, char *line, int size) {
  FILE *file = fopen(path, "r");
  if (!fgets(line, size, file)) line[0] = 0;  /* file is NULL when the open failed */
  fclose(file);
}

int main(int argc, char **argv) {
  char line[128];
  read_first_line(argc > 1 ? argv[1] : "/etc/hostname", line, sizeof line);
  printf("first line: %s", line);
  if (!strchr(line, '\n')) printf("\n");
  return 0;
}
