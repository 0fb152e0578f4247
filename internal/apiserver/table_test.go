package apiserver

import (
	"encoding/json"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

const tableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json"

func TestTables(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		wantRows   int
		wantObject string // kind of rows[0].object; "" = none
	}{
		{name: "list default includes metadata", path: cmPath, wantRows: 2, wantObject: "PartialObjectMetadata"},
		{name: "list includeObject=Object", path: cmPath + "?includeObject=Object", wantRows: 2, wantObject: "ConfigMap"},
		{name: "list includeObject=None", path: cmPath + "?includeObject=None", wantRows: 2},
		{name: "single get", path: cmPath + "/a", wantRows: 1, wantObject: "PartialObjectMetadata"},
		{name: "all namespaces", path: "/api/v1/configmaps", wantRows: 2, wantObject: "PartialObjectMetadata"},
	}
	e := newTestEnv(t)
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("a", ""))
	e.mustDo(201, "POST", cmPath, "application/json", cmJSON("b", ""))
	e.clock.Step(90e9)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := e.mustDo(200, "GET", tt.path, "", "", "Accept: "+tableAccept)
			var table struct {
				metav1.Table
				Rows []struct {
					Cells  []interface{}   `json:"cells"`
					Object json.RawMessage `json:"object"`
				} `json:"rows"`
			}
			resp.decode(t, &table)
			if table.Kind != "Table" || table.APIVersion != "meta.k8s.io/v1" {
				t.Fatalf("not a table: %s", resp.body)
			}
			if len(table.ColumnDefinitions) != 2 || table.ColumnDefinitions[0].Format != "name" {
				t.Errorf("columns = %+v", table.ColumnDefinitions)
			}
			if len(table.Rows) != tt.wantRows {
				t.Fatalf("rows = %d, want %d", len(table.Rows), tt.wantRows)
			}
			if age := table.Rows[0].Cells[1]; age != "90s" {
				t.Errorf("age cell = %v, want 90s", age)
			}
			var obj struct {
				Kind string `json:"kind"`
			}
			if len(table.Rows[0].Object) > 0 && string(table.Rows[0].Object) != "null" {
				if err := json.Unmarshal(table.Rows[0].Object, &obj); err != nil {
					t.Fatal(err)
				}
			}
			if obj.Kind != tt.wantObject {
				t.Errorf("row object kind = %q, want %q", obj.Kind, tt.wantObject)
			}
		})
	}
}
