package api

import (
	"bytes"
	"encoding/json"
	"strings"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// personalView is how much of a case's personal fields one viewer may see: a student's, and a
// public objector's contact. Every read of them — the student record, a batch's objections and
// the audit trail's before/after values alike — goes through it, so that no page shows more than
// another.
type personalView struct {
	whole   bool // the student's identity numbers and birth date
	contact bool // an objector's contact (联系方式)
}

// personalViewOf decides for viewer a and a student of the unit (code, path). Only two kinds of
// viewer need the identity numbers and the birth date whole: the student's own school (anyone
// holding a role at the student's unit: its staff keep the 学籍, its teachers and leaders know the
// pupil) and the county aid center (资助中心), which checks applications against the 学籍 and the
// poverty registry by ID number. Everyone else — the township, the bureau's sections, the
// supervision office, inspectors, the bureau leader, other schools and the system administrator —
// does their work on name, school, grade and class, and gets the strict mask.
//
// An objector's contact is another matter: the public form promises it is "仅供复核人员联系您，
// 不公开", so it goes only to those who review objections (the aid center) and to the supervision
// office, which reads everything to check that reviews were done. The school objected to — its
// staff, teachers and leader — and the township must not learn who objected: they see that an
// objection exists and its reason.
func personalViewOf(a access.Actor, unitCode, unitPath string) personalView {
	aid := unitPath != "" && a.Can(casework.RoleAidCenter, unitPath)
	v := personalView{whole: aid, contact: aid || a.Has(casework.RoleSupervision)}
	for _, r := range a.Roles {
		if unitCode != "" && r.UnitCode == unitCode {
			v.whole = true
		}
	}
	return v
}

// field returns the value a student's field, named by its JSON key, shows the viewer; fields that
// are not personal come back unchanged.
//
// Outside, an ID-card number or 学籍号 (a G number is G + the ID-card number) keeps its last four
// characters only, and a birth date its year. The year is what a county clerk needs — the age,
// for the school-age and stage checks of dropout control and the programmes. More is not safe:
// the first six digits of an ID are the county's region code, so the full birth date beside the
// last four characters leaves only the sequence digits to guess, and a mask that also shows the
// first four digits (as this one used to) leaves a single pair.
func (v personalView) field(key, value string) string {
	if key == "contact" && !v.contact {
		return ""
	}
	if v.whole {
		return value
	}
	switch key {
	case "id_card_no", "id_card", "student_no":
		return lastFour(value)
	case "birth_date":
		if len(value) < 4 {
			return ""
		}
		return value[:4]
	}
	return value
}

// lastFour keeps a number's last four characters and stars the rest; a value of four characters
// or fewer is starred whole, since its last four would be all of it.
func lastFour(s string) string {
	r := []rune(s)
	keep := 4
	if len(r) <= keep {
		keep = 0
	}
	return strings.Repeat("*", len(r)-keep) + string(r[len(r)-keep:])
}

// student is the student record as the viewer may see it.
func (v personalView) student(st store.Student) store.Student {
	st.IDCardNo = v.field("id_card_no", st.IDCardNo)
	st.StudentNo = v.field("student_no", st.StudentNo)
	st.BirthDate = v.field("birth_date", st.BirthDate)
	return st
}

// objections are a batch's objections as the viewer may see them.
func (v personalView) objections(os []casework.Objection) []casework.Objection {
	out := make([]casework.Objection, len(os))
	for i, o := range os {
		o.Contact = v.field("contact", o.Contact)
		out[i] = o
	}
	return out
}

// timeline is a case's audit entries as the viewer may see them: every personal field recorded
// in before/after, at any depth, goes through field. The stored entries are not changed (their
// hashes cover what was recorded); only this copy is.
func (v personalView) timeline(es []store.AuditEntry) []store.AuditEntry {
	if v.whole && v.contact {
		return es
	}
	out := make([]store.AuditEntry, len(es))
	for i, e := range es {
		e.Before, e.After = v.recorded(e.Before), v.recorded(e.After)
		out[i] = e
	}
	return out
}

// recorded masks one before/after value. It is re-encoded only when something was masked, so
// entries without personal fields read exactly as written. A value that is not JSON (never
// written so) is withheld rather than shown unread.
func (v personalView) recorded(raw string) string {
	if raw == "" {
		return raw
	}
	dec := json.NewDecoder(strings.NewReader(raw))
	dec.UseNumber() // amounts in fen stay exact
	var x any
	if err := dec.Decode(&x); err != nil {
		return "{}"
	}
	x, changed := v.walk("", x)
	if !changed {
		return raw
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(x); err != nil {
		return "{}"
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// walk masks the strings under personal keys in x; key is the key x was found under (array
// elements inherit their array's).
func (v personalView) walk(key string, x any) (any, bool) {
	switch t := x.(type) {
	case map[string]any:
		changed := false
		for k, val := range t {
			m, c := v.walk(k, val)
			t[k], changed = m, changed || c
		}
		return t, changed
	case []any:
		changed := false
		for i, val := range t {
			m, c := v.walk(key, val)
			t[i], changed = m, changed || c
		}
		return t, changed
	case string:
		m := v.field(key, t)
		return m, m != t
	}
	return x, false
}
