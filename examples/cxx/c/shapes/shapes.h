#ifdef __cplusplus
extern "C" {
#endif
double total_area(const double *radii, int n);
const char *shape_name(void);
#ifdef __cplusplus
}
#endif
