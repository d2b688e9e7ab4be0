package dataio

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/xuri/excelize/v2"

	"jiaofu/identity"
)

// The readers of cell values the kinds share: a clerk's spreadsheet writes dates, yes/no and
// sexes in several ways, all of which are taken; anything else is a FieldError in Chinese.

var dateLayouts = []string{"2006-01-02", "2006-1-2", "2006/01/02", "2006/1/2", "2006.1.2", "20060102", "2006年1月2日"}

// date reads a date cell as 2006-01-02: the layouts clerks type, or the serial number a date
// cell without a date format shows.
func date(field, v string) (string, *FieldError) {
	for _, l := range dateLayouts {
		if t, err := time.Parse(l, v); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 1 && n < 80000 {
		if t, err := excelize.ExcelDateToTime(n, false); err == nil {
			return t.Format("2006-01-02"), nil
		}
	}
	return "", &FieldError{Field: field, Reason: "date_format", Message: "不是日期（应写作 2015-09-01）"}
}

// yes reads a yes/no cell (是/否, Y/N, 1/0, true/false; blank is no).
func yes(field, v string) (bool, *FieldError) {
	switch strings.ToLower(v) {
	case "是", "y", "yes", "1", "true", "√":
		return true, nil
	case "否", "n", "no", "0", "false", "":
		return false, nil
	}
	return false, &FieldError{Field: field, Reason: "yes_no", Message: "应填“是”或“否”"}
}

// yesNo writes a flag as the templates do.
func yesNo(b bool) string {
	if b {
		return "是"
	}
	return "否"
}

// sex reads 男/女 (or M/F) as 男/女.
func sex(field, v string) (string, *FieldError) {
	switch strings.ToUpper(v) {
	case "男", "M":
		return "男", nil
	case "女", "F":
		return "女", nil
	}
	return "", &FieldError{Field: field, Reason: "one_of", Message: "应填“男”或“女”"}
}

// sexWord is a stored sex as the templates write it (older records say M or F).
func sexWord(v string) string {
	if s, err := sex("", v); err == nil {
		return s
	}
	return v
}

// idCard reads an ID-card number (upper-case X) and checks it.
func idCard(field, v string) (string, *FieldError) {
	v = strings.ToUpper(v)
	if p := identity.CheckIDCard(v); p != nil {
		return v, &FieldError{Field: field, Reason: p.Reason, Message: idCardWords[p.Reason]}
	}
	return v, nil
}

var idCardWords = map[string]string{
	"id_card_length":     "身份证号应为 18 位",
	"id_card_digits":     "身份证号前 17 位应为数字",
	"id_card_birth_date": "身份证号第 7–14 位不是有效的出生日期",
	"id_card_check":      "身份证号校验位错误（请核对号码）",
}

// birthAgrees refuses a birth date that is not the one the ID-card number carries.
func birthAgrees(field, birth, id string) *FieldError {
	if id != "" && identity.BirthDate(id) != birth {
		return &FieldError{Field: field, Reason: "id_card_birth_mismatch", Message: "出生日期与身份证号中的出生日期不一致"}
	}
	return nil
}

// text checks a text cell's length.
func text(field, v string, max int) *FieldError {
	if utf8.RuneCountInString(v) > max {
		return &FieldError{Field: field, Reason: "max_chars", Message: fmt.Sprintf("最多 %d 个字", max)}
	}
	if hasControl(v) {
		return &FieldError{Field: field, Reason: "control_chars", Message: "含有不可见的控制字符"}
	}
	return nil
}

var termRe = regexp.MustCompile(`^(\d{4})-(\d{4})-[12]$`)

// term reads a term written 2026-2027-1.
func term(field, v string) *FieldError {
	m := termRe.FindStringSubmatch(v)
	if m != nil {
		a, _ := strconv.Atoi(m[1])
		b, _ := strconv.Atoi(m[2])
		if b == a+1 {
			return nil
		}
	}
	return &FieldError{Field: field, Reason: "term_format", Message: "学期应写作 2026-2027-1（秋季）或 2026-2027-2（春季）"}
}

// collect keeps the errors that happened.
func collect(errs ...*FieldError) []FieldError {
	var out []FieldError
	for _, e := range errs {
		if e != nil {
			out = append(out, *e)
		}
	}
	return out
}

// lastFour is how a report names a number without showing it (the row number says which).
func lastFour(s string) string {
	if len(s) <= 4 {
		return "****"
	}
	return "尾号" + s[len(s)-4:]
}
