#ifndef TLSGET_H
#define TLSGET_H
/* GET / over TLS from host:port, trusting only ca_file. Returns 0 on success, else writes why into out. */
int tls_get(const char *host, int port, const char *ca_file, char *out, int outlen, char *info, int infolen);
#endif
