// tlsclient: an HTTPS GET through OpenSSL (built from source by ForeignCLib, with zlib), fully static.
//
//	tlsclient HOST PORT CA_FILE
package main

/*
#include <stdlib.h>
#include "tlsget.h"
*/
import "C"

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"
)

func main() {
	if len(os.Args) != 4 {
		fmt.Fprintln(os.Stderr, "usage: tlsclient HOST PORT CA_FILE")
		os.Exit(2)
	}
	port, err := strconv.Atoi(os.Args[2])
	if err != nil {
		fmt.Fprintln(os.Stderr, "bad port:", err)
		os.Exit(2)
	}
	host, ca := C.CString(os.Args[1]), C.CString(os.Args[3])
	defer C.free(unsafe.Pointer(host))
	defer C.free(unsafe.Pointer(ca))
	out := make([]byte, 65536)
	info := make([]byte, 512)
	rc := C.tls_get(host, C.int(port), ca, (*C.char)(unsafe.Pointer(&out[0])), C.int(len(out)),
		(*C.char)(unsafe.Pointer(&info[0])), C.int(len(info)))
	response := C.GoString((*C.char)(unsafe.Pointer(&out[0])))
	if rc != 0 {
		fmt.Fprintln(os.Stderr, "tls_get failed:", response)
		os.Exit(1)
	}
	fmt.Println(C.GoString((*C.char)(unsafe.Pointer(&info[0]))))
	status, _, _ := strings.Cut(response, "\r\n")
	_, body, _ := strings.Cut(response, "\r\n\r\n")
	fmt.Println(status)
	fmt.Print(body)
}
