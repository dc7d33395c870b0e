package main

import (
	"reflect"
	"testing"
)

func TestParseCounts(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want []int
		ok   bool
	}{
		{"1,2,4,8,16,32", []int{1, 2, 4, 8, 16, 32}, true},
		{" 4 ", []int{4}, true},
		{"", nil, false},
		{"1,,2", nil, false},
		{"0", nil, false},
		{"-3", nil, false},
		{"eight", nil, false},
		{"1001", nil, false},
	}
	for _, tt := range tests {
		got, err := parseCounts(tt.in)
		if (err == nil) != tt.ok || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("parseCounts(%q) = %v, %v", tt.in, got, err)
		}
	}
}
