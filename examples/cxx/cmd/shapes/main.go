package main

// #include "shapes.h"
// #include "own.h"
import "C"

import (
	"fmt"
	"unsafe"
)

func main() {
	radii := []C.double{1, 2}
	area := C.total_area((*C.double)(unsafe.Pointer(&radii[0])), C.int(len(radii)))
	caught := C.total_area(nil, -1) // throws and catches a C++ exception inside the library
	fmt.Printf("%s area=%.0f caught=%.0f own=%s\n", C.GoString(C.shape_name()), float64(area), float64(caught),
		C.GoString(C.own_greeting()))
}
