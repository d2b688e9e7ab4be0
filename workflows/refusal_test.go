package workflows

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// TestEveryRefusalHasAKnownCode walks this package's source: every refuse and refuseField call
// names a Code constant listed in RefusalCodes, and no other code makes an ApplicationError of
// its own, so that no refusal reaches the API without a code it knows.
func TestEveryRefusalHasAKnownCode(t *testing.T) {
	fset := token.NewFileSet()
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	consts := map[string]string{} // constant name → value, of the package's string constants
	var parsed []*ast.File
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		parsed = append(parsed, f)
		for _, d := range f.Decls {
			if g, ok := d.(*ast.GenDecl); ok && g.Tok == token.CONST {
				for _, spec := range g.Specs {
					vs := spec.(*ast.ValueSpec)
					for i, n := range vs.Names {
						if i < len(vs.Values) {
							if lit, ok := vs.Values[i].(*ast.BasicLit); ok && lit.Kind == token.STRING {
								consts[n.Name], _ = strconv.Unquote(lit.Value)
							}
						}
					}
				}
			}
		}
	}
	sites := 0
	for _, f := range parsed {
		var inFunc string
		ast.Inspect(f, func(n ast.Node) bool {
			if fd, ok := n.(*ast.FuncDecl); ok {
				inFunc = fd.Name.Name
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			pos := fset.Position(call.Pos())
			switch fun := call.Fun.(type) {
			case *ast.Ident:
				if fun.Name != "refuse" && fun.Name != "refuseField" {
					return true
				}
				sites++
				id, ok := call.Args[0].(*ast.Ident)
				if !ok {
					t.Errorf("%s: %s's code is not a Code constant", pos, fun.Name)
					return true
				}
				if _, known := RefusalCodes[consts[id.Name]]; !known || !strings.HasPrefix(id.Name, "Code") {
					t.Errorf("%s: %s(%s): not a refusal code of RefusalCodes", pos, fun.Name, id.Name)
				}
			case *ast.SelectorExpr:
				if x, ok := fun.X.(*ast.Ident); ok && x.Name == "temporal" && strings.HasSuffix(fun.Sel.Name, "ApplicationError") && inFunc != "refuseWith" {
					t.Errorf("%s: temporal.%s outside refuseWith: a refusal without a code", pos, fun.Sel.Name)
				}
			}
			return true
		})
	}
	if sites < 40 {
		t.Errorf("found %d refusal sites; the walk misses some", sites)
	}
	// The old type of each code is one an API from before the codes maps to a status.
	for code, errType := range RefusalCodes {
		if !slices.Contains([]string{ErrTypeForbidden, ErrTypeConflict, ErrTypeInvalid, ErrTypeRateLimited}, errType) {
			t.Errorf("code %s: old type %q is not one an old API reads", code, errType)
		}
	}
}
