package dataio

import (
	"context"
	"time"

	"jiaofu/casework"
	"jiaofu/store"
)

// The pairing register (结对帮扶名册): which teacher answers for which poverty-registered student
// (一生一责任人), keyed by the student's 学籍号. A student paired with another teacher before is
// re-paired: the old pairing ends and the new one starts, and the row says so.
func init() {
	Register(&Kind{
		Name:  "pairings",
		Label: "结对帮扶名册",
		Columns: []Column{
			{Header: "教师用户名", Field: "teacher_username", Required: true, Example: "teacher01"},
			{Header: "教师姓名", Field: "teacher_name", Example: "王老师"},
			{Header: "学籍号", Field: "student_no", Required: true, Example: "G420528201503150012"},
			{Header: "学生姓名", Field: "student_name", Example: "张小明"},
		},
		Roles:    []string{casework.RoleSchoolStaff, casework.RoleSchoolLeader, casework.RoleTownshipStaff, casework.RolePAOffice, casework.RoleAdmin},
		KeyField: "student_no",
		Check: func(v Values) (any, []FieldError) {
			return pairingRow{teacher: v["teacher_username"], teacherName: v["teacher_name"], no: v["student_no"], name: v["student_name"]}, nil
		},
		Plan:  planPairings,
		Apply: applyPairings,
	})
}

type pairingRow struct {
	teacher, teacherName, no, name string
	store.Pairing
	old *store.Pairing
}

func planPairings(ctx context.Context, env *Env, recs []*Record) error {
	var nos, names []string
	for _, r := range recs {
		p := r.Data.(pairingRow)
		nos, names = append(nos, p.no), append(names, p.teacher)
	}
	students, _, err := env.Store.StudentsByNumber(ctx, nos, nil)
	if err != nil {
		return err
	}
	users, err := env.Store.UsersByUsername(ctx, names)
	if err != nil {
		return err
	}
	var ids []string
	for _, st := range students {
		ids = append(ids, st.ID)
	}
	active, err := env.Store.ActivePairings(ctx, ids)
	if err != nil {
		return err
	}
	byID := map[string]string{}
	for _, u := range users {
		byID[u.ID] = u.Username
	}
	for _, r := range recs {
		p := r.Data.(pairingRow)
		st, ok := students[p.no]
		if !ok {
			r.Fail("student_no", "no_student", "学籍号不存在（请先导入学生学籍）")
			continue
		}
		r.UnitCode, r.UnitPath = st.UnitCode, st.UnitPath
		if p.name != "" && p.name != st.Name {
			r.Fail("student_name", "name_mismatch", "学生姓名与该学籍号登记的姓名不一致")
			continue
		}
		if !st.PovertyRegistered {
			r.Fail("student_no", "not_registered", "该学生不是建档立卡学生，不能建立结对帮扶")
			continue
		}
		u, ok := users[p.teacher]
		if !ok || !u.Active {
			r.Fail("teacher_username", "no_user", "没有用户名为 %s 的在用账号", p.teacher)
			continue
		}
		if p.teacherName != "" && p.teacherName != u.DisplayName {
			r.Fail("teacher_name", "name_mismatch", "教师姓名与该用户名的姓名不一致")
			continue
		}
		p.Pairing = store.Pairing{ID: store.NewPairingID(), TeacherID: u.ID, StudentID: st.ID, UnitID: st.UnitID, UnitPath: st.UnitPath,
			Class: st.Class, State: casework.PairingActive, CreatedBy: env.Actor.UserID, CreatedAt: time.Now()}
		old, paired := active[st.ID]
		switch {
		case paired && old.TeacherID == u.ID:
			r.Decide(false)
		case paired:
			oldName := byID[old.TeacherID]
			if oldName == "" {
				oldName = old.TeacherName
			}
			p.old = &old
			r.Change("teacher_username", oldName, p.teacher)
			r.Decide(false)
		default:
			r.Decide(true)
		}
		r.Data = p
	}
	return nil
}

func applyPairings(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
	ps := make([]store.Pairing, len(recs))
	var entries []store.AuditEntry
	for i, r := range recs {
		p := r.Data.(pairingRow)
		ps[i] = p.Pairing
		before := map[string]any{}
		if p.old != nil {
			if err := tx.EndPairing(ctx, p.old.ID); err != nil {
				return nil, err
			}
			before = map[string]any{"pairing_id": p.old.ID, "teacher_id": p.old.TeacherID}
			entries = append(entries, store.AuditEntry{Action: "pairing.ended", CaseID: p.old.ID, Before: mustJSON(before),
				After: mustJSON(map[string]any{"state": "ended", "replaced_by": p.ID})})
		}
		entries = append(entries, store.AuditEntry{Action: "pairing.created", CaseID: p.ID, Before: mustJSON(before),
			After: mustJSON(map[string]any{"teacher_id": p.TeacherID, "student_id": p.StudentID, "unit": r.UnitCode})})
	}
	return entries, tx.CreatePairings(ctx, ps)
}
