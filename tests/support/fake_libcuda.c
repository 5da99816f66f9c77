/* A stand-in libcuda.so.1 with no driver in it: loading it creates the file
   named by PARMAP_FAKE_LIBCUDA_MARK, so a test can tell whether anything in
   the process loaded the CUDA driver. */
#include <stdio.h>
#include <stdlib.h>

__attribute__((constructor)) static void parmap_fake_libcuda_loaded(void) {
  const char* mark = getenv("PARMAP_FAKE_LIBCUDA_MARK");
  if (mark != NULL) {
    FILE* f = fopen(mark, "w");
    if (f != NULL) fclose(f);
  }
}
