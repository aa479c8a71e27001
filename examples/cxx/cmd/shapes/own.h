#ifdef __cplusplus
extern "C" {
#endif
const char *own_greeting(void);
#ifdef __cplusplus
}
#endif
