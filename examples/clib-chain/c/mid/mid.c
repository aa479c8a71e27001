#include "mid.h"

/* BASE_K reaches this library (and the Go package) from base's defines. */
int mid_value(void) { return base_value() * 10 + BASE_K; }
