#include <numeric>
#include <vector>
#include <string>
#include <stdexcept>
#include "shapes.h"

static std::vector<double> checked(const double *radii, int n) {
  if (n < 0) throw std::invalid_argument("a negative count: " + std::to_string(n));
  return std::vector<double>(radii, radii + n);
}

extern "C" double total_area(const double *radii, int n) {
  std::vector<double> v;
  try {
    v = checked(radii, n);
  } catch (const std::invalid_argument &) {
    return -1;
  }
  return std::accumulate(v.begin(), v.end(), 0.0, [](double acc, double r) { return acc + 3.0 * r * r; });
}
