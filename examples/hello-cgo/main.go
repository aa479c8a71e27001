// hello-cgo: Go calling C written inline in the cgo preamble.
package main

/*
#include <stdio.h>

static int answer(int base) { return base * 6; }
*/
import "C"

import "fmt"

var greeting = "hello"

func main() {
	fmt.Printf("%s from cgo: %d\n", greeting, int(C.answer(7)))
}
