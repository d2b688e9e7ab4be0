package dataio

import (
	"context"
	"slices"

	"jiaofu/casework"
	"jiaofu/store"
)

// Who is actually in school (在校情况), per student and term, as the school reports it: the
// register-against-attendance comparison of the cross-check reads it.
func init() {
	Register(&Kind{
		Name:  "attendance",
		Label: "在校情况",
		Columns: []Column{
			{Header: "学籍号", Field: "student_no", Required: true, Example: "G420528201503150012"},
			{Header: "姓名", Field: "name", Example: "张小明"},
			{Header: "学期", Field: "term", Required: true, Example: "2026-2027-1"},
			{Header: "在校情况", Field: "status", Required: true, Example: "在校", Note: "在校 / 未到校"},
			{Header: "最后到校日期", Field: "last_attended_on", Example: "", Note: "未到校的学生填写，如 2026-09-18"},
		},
		Roles:    []string{casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleAdmin},
		KeyField: "student_no",
		KeyOf:    func(v Values) string { return v["student_no"] + " " + v["term"] },
		Check: func(v Values) (any, []FieldError) {
			a := attendanceRow{no: v["student_no"], name: v["name"], Attendance: store.Attendance{Term: v["term"]}}
			errs := []*FieldError{term("term", a.Term)}
			if !slices.Contains([]string{"在校", "未到校"}, v["status"]) {
				errs = append(errs, &FieldError{Field: "status", Reason: "one_of", Message: "应填“在校”或“未到校”"})
			}
			a.Present = v["status"] == "在校"
			if v["last_attended_on"] != "" {
				var e *FieldError
				a.LastAttendedOn, e = date("last_attended_on", v["last_attended_on"])
				errs = append(errs, e)
			}
			return a, collect(errs...)
		},
		Plan: func(ctx context.Context, env *Env, recs []*Record) error {
			nos := make([]string, len(recs))
			for i, r := range recs {
				nos[i] = r.Data.(attendanceRow).no
			}
			students, _, err := env.Store.StudentsByNumber(ctx, nos, nil)
			if err != nil {
				return err
			}
			var ids []string
			for _, st := range students {
				ids = append(ids, st.ID)
			}
			byTerm := map[string]map[string]store.Attendance{}
			for _, r := range recs {
				a := r.Data.(attendanceRow)
				if byTerm[a.Term] == nil {
					if byTerm[a.Term], err = env.Store.AttendanceOf(ctx, ids, a.Term); err != nil {
						return err
					}
				}
				st, ok := students[a.no]
				if !ok {
					r.Fail("student_no", "no_student", "学籍号不存在（请先导入学生学籍）")
					continue
				}
				if a.name != "" && a.name != st.Name {
					r.Fail("name", "name_mismatch", "姓名与该学籍号登记的姓名不一致")
					continue
				}
				r.UnitCode, r.UnitPath = st.UnitCode, st.UnitPath
				a.StudentID = st.ID
				o, known := byTerm[a.Term][st.ID]
				if known {
					r.Change("status", presentWord(o.Present), presentWord(a.Present))
					r.Change("last_attended_on", o.LastAttendedOn, a.LastAttendedOn)
				}
				r.Data = a
				r.Decide(!known)
			}
			return nil
		},
		Apply: func(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
			as := make([]store.Attendance, len(recs))
			entries := make([]store.AuditEntry, len(recs))
			for i, r := range recs {
				a := r.Data.(attendanceRow)
				as[i] = a.Attendance
				before, after := changeMaps(r.Fields)
				after["term"], after["status"] = a.Term, presentWord(a.Present)
				entries[i] = store.AuditEntry{Action: "attendance." + r.Action, CaseID: a.StudentID, Before: mustJSON(before), After: mustJSON(after)}
			}
			return entries, tx.UpsertAttendance(ctx, as)
		},
	})
}

type attendanceRow struct {
	store.Attendance
	no, name string
}

func presentWord(p bool) string {
	if p {
		return "在校"
	}
	return "未到校"
}
