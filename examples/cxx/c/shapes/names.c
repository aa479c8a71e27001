#include "shapes.h"
const char *shape_name(void) { return "circle"; }
