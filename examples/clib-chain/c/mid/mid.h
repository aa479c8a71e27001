#ifndef MID_H
#define MID_H
#include "base.h"
int mid_value(void);
#endif
