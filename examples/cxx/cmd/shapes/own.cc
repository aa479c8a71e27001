#include <string>
#include <sstream>
#include "own.h"
static std::string greeting;
extern "C" const char *own_greeting(void) {
  std::ostringstream out;
  out << "hello from " << "c++" << __cplusplus / 100;
  greeting = out.str();
  return greeting.c_str();
}
