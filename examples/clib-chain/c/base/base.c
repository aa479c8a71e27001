#include "base.h"

int base_value(void) { return BASE_K; }
