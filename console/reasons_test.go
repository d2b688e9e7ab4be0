package console

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// TestEdgeReasonsInChinese: the refusals of the API's own edge (terms, dates, ID-card numbers,
// codes, amounts, JSON …) and its 503s and 404s are worded by code and reason, with the values
// the sentence needs from the params; the English message says nothing here.
func TestEdgeReasonsInChinese(t *testing.T) {
	for _, c := range []struct {
		code, field string
		p           params
		want        string
	}{
		{"invalid", "evidence_note", params{"reason": "required_without_poverty_registration"}, "必填：该学生不是建档立卡户，须写明家庭经济困难的证明材料"},
		{"invalid", "note", params{"reason": "required_for_decision"}, "必填：作出处理决定须写明理由"},
		{"invalid", "parent_code", params{"reason": "required_below_bureau"}, "除教育局外，每个单位都须选择上级单位"},
		{"invalid", "term", params{"reason": "term_format"}, "学期格式应为 2026-2027-1"},
		{"invalid", "term", params{"reason": "term_years"}, "学期的两个年份应相连"},
		{"invalid", "term", params{"reason": "term_window", "this_year": "2026-2027", "next_year": "2027-2028"},
			"只能申请本学年（2026-2027）或下一学年（2027-2028）的学期；其他学期须由系统管理员开放"},
		{"invalid", "term", params{"reason": "term_window"}, "只能申请本学年或下一学年的学期"},
		{"invalid", "birth_date", params{"reason": "date_format"}, "日期格式应为 2026-09-01"},
		{"invalid", "last_attended_on", params{"reason": "future"}, "日期不能晚于今天"},
		{"invalid", "amount", params{"reason": "yuan_format"}, "金额格式应为 500.00"},
		{"invalid", "amount_fen", params{"reason": "amount_range", "max_fen": "10000000"}, "金额应大于 0 且不超过 ¥100000.00"},
		{"invalid", "student_id", params{"reason": "no_student"}, "找不到该学生"},
		{"invalid", "programme", params{"reason": "no_programme"}, "没有该资助项目，或项目已停用"},
		{"invalid", "unit_code", params{"reason": "no_unit"}, "没有该单位"},
		{"invalid", "to_user", params{"reason": "no_user"}, "没有该用户"},
		{"invalid", "stage", params{"reason": "one_of"}, "请从列表中选择"},
		{"invalid", "code", params{"reason": "programme_code_format"}, "只能由字母、数字、- 和 _ 组成（1–40 位）"},
		{"invalid", "code", params{"reason": "unit_code_format", "example": "JS-T01-S03"}, "只能由大写字母 A–Z、数字和 - 组成，以字母或数字开头，最多 32 位（如 JS-T01-S03）"},
		{"invalid", "username", params{"reason": "username_format"}, "用户名为 2–40 位小写字母、数字"},
		{"invalid", "roles", params{"reason": "min_entries", "min": "1"}, "至少选择 1 项"},
		{"invalid", "grade", params{"reason": "grade_range"}, "年级应为 1–12"},
		{"invalid", "id_card_no", params{"reason": "id_card_length"}, "身份证号应为 18 位"},
		{"invalid", "id_card_no", params{"reason": "id_card_digits", "position": "17"}, "身份证号前 17 位应为数字（第 17 位不是）"},
		{"invalid", "id_card_no", params{"reason": "id_card_birth_date"}, "身份证号中的出生日期无效"},
		{"invalid", "id_card_no", params{"reason": "id_card_check"}, "身份证号校验位不正确"},
		{"invalid", "id_card_no", params{"reason": "id_card_birth_mismatch"}, "身份证号中的出生日期与出生日期栏不一致"},
		{"invalid", "student_no", params{"reason": "student_no_g"}, "学籍号应为 G + 该学生的身份证号"},
		{"invalid", "student_no", params{"reason": "student_no_format"}, "学籍号应为 G + 身份证号，或 L + 临时学籍号"},
		{"invalid", "colour", params{"reason": "unknown_field"}, "表单包含未知字段"},
		{"invalid", "body", params{"reason": "json"}, "格式不正确"},
		{"invalid", "grade", params{"reason": "json_type"}, "格式不正确"},
		{"invalid", "reason", params{"reason": "control_char", "position": "3"}, "含有看不见的控制字符"},
		{"invalid", "reason", params{"reason": "not_utf8"}, "含有无法识别的字符"},
		{"invalid", "evidence_note", params{"reason": "max_chars", "max": "1000"}, "不能超过 1000 个字"},
	} {
		fe := translateField(&apiError{Status: 400, Code: c.code, Field: c.field, Message: c.field + ": no words to go by", Params: c.p})
		if !strings.Contains(fe.Message, c.want) || fe.Detail != "" {
			t.Errorf("%s/%s on %s → %q (%q), want %q", c.code, c.p["reason"], c.field, fe.Message, fe.Detail, c.want)
		}
	}
	// The same message without its reason is not guessed at: the label and the English detail.
	fe := translateField(&apiError{Status: 400, Code: "invalid", Field: "id_card_no", Message: "id_card_no: must have 18 characters"})
	if fe.Message != "「身份证号」填写有误" || fe.Detail != "must have 18 characters" {
		t.Errorf("a refusal without a reason → %+v", fe)
	}
	// The console's own conversion (yuan to fen) goes by its reason too.
	if fe := translateField(errorf("amount", "yuan_format", "not an amount in yuan such as 500.00")); !strings.Contains(fe.Message, "金额格式应为") {
		t.Errorf("the console's amount error → %+v", fe)
	}
}

// reasonRe finds the reasons the API and the workflows give: .because("x", …), because("x", …)
// (workflows), broken("x", …) (api/validate.go), and the console's own errorf(field, "x", …) and
// params{"reason": "x"}.
var reasonRe = regexp.MustCompile(`(?:because|broken)\("([a-z_]+)"|errorf\("[a-z_.]+", "([a-z_]+)"|"reason": "([a-z_]+)"`)

// TestEveryReasonIsWorded: every reason given in api/, workflows/ or the console itself has a
// sentence in refusalText ("code/reason"), so that no refusal falls back to its English detail
// because its wording was forgotten.
func TestEveryReasonIsWorded(t *testing.T) {
	worded := map[string]bool{}
	for k := range refusalText {
		if _, reason, ok := strings.Cut(k, "/"); ok {
			worded[reason] = true
		}
	}
	found := map[string][]string{}
	for _, dir := range []string{"../api", "../workflows", "."} {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if strings.HasSuffix(f, "_test.go") {
				continue
			}
			src, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			for _, m := range reasonRe.FindAllStringSubmatch(string(src), -1) {
				reason := m[1] + m[2] + m[3]
				found[reason] = append(found[reason], f)
			}
		}
	}
	if len(found) < 40 {
		t.Fatalf("found only %d reasons in the sources: is reasonRe still right?", len(found))
	}
	var missing []string
	for reason, files := range found {
		if !worded[reason] {
			missing = append(missing, reason+" ("+strings.Join(files, ", ")+")")
		}
	}
	sort.Strings(missing)
	for _, m := range missing {
		t.Errorf("reason %s has no sentence in refusalText", m)
	}
}

// messageMatchers are the calls that would word an answer by matching its English text.
var messageMatchers = map[string]bool{
	"MatchString": true, "Match": true, "FindString": true, "FindStringSubmatch": true, "FindAllString": true, "FindAllStringSubmatch": true,
	"Contains": true, "ContainsAny": true, "HasPrefix": true, "HasSuffix": true, "Index": true, "EqualFold": true, "Cut": true, "Count": true,
}

// legitimateRegexps are the console's regexps, none of them over the API's messages.
var legitimateRegexps = map[string]string{
	"indexRe": "strips list indexes from a field's name (roles[0].role → roles.role) to find its label",
	"yuanRe":  "reads an amount the user typed in yuan",
}

// TestNoPatternsOverAPIMessages: the console words the API's answers by code and reason only. It
// fails if a console source compiles a regexp other than the known ones above, or matches,
// compares or switches on an error's Message (the API's English text).
func TestNoPatternsOverAPIMessages(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	isMessage := func(e ast.Expr) bool {
		sel, ok := ast.Unparen(e).(*ast.SelectorExpr)
		return ok && sel.Sel.Name == "Message"
	}
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		// Which variable each regexp.MustCompile/Compile is assigned to.
		assigned := map[*ast.CallExpr]string{}
		ast.Inspect(f, func(n ast.Node) bool {
			if vs, ok := n.(*ast.ValueSpec); ok {
				for i, v := range vs.Values {
					if call, ok := v.(*ast.CallExpr); ok && i < len(vs.Names) {
						assigned[call] = vs.Names[i].Name
					}
				}
			}
			return true
		})
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				if pkg, ok := sel.X.(*ast.Ident); ok && pkg.Name == "regexp" {
					if v := assigned[n]; legitimateRegexps[v] == "" {
						t.Errorf("%s: a regexp (%s) other than the known ones: the console words the API's answers by code and reason, never by pattern",
							fset.Position(n.Pos()), v)
					}
				}
				if messageMatchers[sel.Sel.Name] {
					for _, a := range n.Args {
						if isMessage(a) {
							t.Errorf("%s: %s over an error's Message: word it by code and reason instead", fset.Position(n.Pos()), sel.Sel.Name)
						}
					}
				}
			case *ast.BinaryExpr:
				if (n.Op == token.EQL || n.Op == token.NEQ) && (isMessage(n.X) || isMessage(n.Y)) {
					t.Errorf("%s: a comparison with an error's Message: word it by code and reason instead", fset.Position(n.Pos()))
				}
			case *ast.SwitchStmt:
				if n.Tag != nil && isMessage(n.Tag) {
					t.Errorf("%s: a switch on an error's Message: word it by code and reason instead", fset.Position(n.Pos()))
				}
			}
			return true
		})
	}
}
