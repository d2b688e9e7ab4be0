package dataio

import (
	"context"

	"jiaofu/casework"
	"jiaofu/store"
)

// The poverty registry (建档立卡): the members of registered households, keyed by ID-card number,
// from the poverty-alleviation office. A member who is a student on the register is flagged
// poverty-registered with the household (what the subsidy's registry check and the omission
// report read), and the row says so among its changes.
func init() {
	Register(&Kind{
		Name:  "poverty-registry",
		Label: "建档立卡贫困户",
		Columns: []Column{
			{Header: "户编号", Field: "household_id", Required: true, Example: "4228220101001"},
			{Header: "姓名", Field: "name", Required: true, Example: "张小明"},
			{Header: "身份证号", Field: "id_card_no", Required: true, Example: "420528201503150012"},
			{Header: "与户主关系", Field: "relation", Example: "之子"},
			{Header: "乡镇代码", Field: "township_code", Required: true, Example: "T01"},
			{Header: "村（社区）", Field: "village", Example: "业州镇三里坝村"},
		},
		Roles:    []string{casework.RolePAOffice, casework.RoleAidCenter, casework.RoleAdmin},
		KeyField: "id_card_no",
		Check: func(v Values) (any, []FieldError) {
			m := store.PovertyMember{HouseholdID: v["household_id"], Name: v["name"], Relation: v["relation"], TownshipCode: v["township_code"], Village: v["village"]}
			var e *FieldError
			m.IDCardNo, e = idCard("id_card_no", v["id_card_no"])
			return m, collect(e, text("household_id", m.HouseholdID, 40), text("name", m.Name, 30), text("relation", m.Relation, 20), text("village", m.Village, 60))
		},
		Plan:  planPoverty,
		Apply: applyPoverty,
	})
}

// povertyRecord is a registry row and the student it flags, if any.
type povertyRecord struct {
	store.PovertyMember
	student *store.Student
}

func planPoverty(ctx context.Context, env *Env, recs []*Record) error {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Data.(store.PovertyMember).IDCardNo
	}
	old, err := env.Store.PovertyMembersByIDCard(ctx, ids)
	if err != nil {
		return err
	}
	_, students, err := env.Store.StudentsByNumber(ctx, nil, ids)
	if err != nil {
		return err
	}
	for _, r := range recs {
		m := r.Data.(store.PovertyMember)
		t, ok := env.Township(m.TownshipCode)
		if !ok {
			r.Fail("township_code", "no_township", "乡镇代码 %s 不存在（如 T01）", m.TownshipCode)
			continue
		}
		r.UnitCode, r.UnitPath = t.Code, t.Path
		pr := povertyRecord{PovertyMember: m}
		o, known := old[m.IDCardNo]
		if known {
			r.Change("household_id", o.HouseholdID, m.HouseholdID)
			r.Change("name", o.Name, m.Name)
			r.Change("relation", o.Relation, m.Relation)
			r.Change("township_code", o.TownshipCode, m.TownshipCode)
			r.Change("village", o.Village, m.Village)
		}
		if st, ok := students[m.IDCardNo]; ok {
			r.UnitCode = st.UnitCode // who may see the student's numbers
			if !st.PovertyRegistered || st.HouseholdID != m.HouseholdID {
				r.Fields = append(r.Fields, FieldChange{Field: "poverty_registered", Column: "学生建档立卡标记",
					Before: yesNo(st.PovertyRegistered) + " " + st.HouseholdID, After: "是 " + m.HouseholdID})
				pr.student = &st
			}
		}
		r.Data = pr
		r.Decide(!known)
	}
	return nil
}

func applyPoverty(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
	ms := make([]store.PovertyMember, len(recs))
	var entries []store.AuditEntry
	for i, r := range recs {
		pr := r.Data.(povertyRecord)
		ms[i] = pr.PovertyMember
		before, after := changeMaps(r.Fields)
		after["id_card_no"], after["household_id"] = pr.IDCardNo, pr.HouseholdID
		caseID := "poverty-" + pr.HouseholdID
		if pr.student != nil {
			if err := tx.SetPovertyRegistration(ctx, pr.student.ID, true, pr.HouseholdID); err != nil {
				return nil, err
			}
			caseID = pr.student.ID // the student's timeline shows where the flag came from
		}
		entries = append(entries, store.AuditEntry{Action: "poverty_member." + r.Action, CaseID: caseID, Before: mustJSON(before), After: mustJSON(after)})
	}
	return entries, tx.UpsertPovertyMembers(ctx, ms)
}
