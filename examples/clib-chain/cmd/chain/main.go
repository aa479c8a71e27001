// chain: a cgo binary linking two static C libraries, mid depending on base.
package main

/*
#include "mid.h"
*/
import "C"

import "fmt"

func main() {
	fmt.Printf("chain: mid=%d base=%d k=%d\n", int(C.mid_value()), int(C.base_value()), int(C.BASE_K))
}
