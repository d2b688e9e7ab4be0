package dataio

import (
	"context"

	"jiaofu/casework"
	"jiaofu/store"
)

// The household registration roll (户籍): a township's children, from the police station, keyed
// by ID-card number. The cross-check (四查三比对) compares it with the school register.
func init() {
	Register(&Kind{
		Name:  "household-roll",
		Label: "户籍适龄人口",
		Columns: []Column{
			{Header: "乡镇代码", Field: "township_code", Required: true, Example: "T01"},
			{Header: "村（社区）", Field: "village", Example: "业州镇三里坝村"},
			{Header: "姓名", Field: "name", Required: true, Example: "张小明"},
			{Header: "性别", Field: "sex", Required: true, Example: "男", Note: "男 / 女"},
			{Header: "出生日期", Field: "birth_date", Required: true, Example: "2015-03-15", Note: "须与身份证号一致"},
			{Header: "身份证号", Field: "id_card_no", Required: true, Example: "420528201503150012"},
			{Header: "监护人", Field: "guardian", Example: "张大山"},
		},
		Roles:    []string{casework.RoleTownshipStaff, casework.RoleEducationSection, casework.RoleAdmin},
		KeyField: "id_card_no",
		Check: func(v Values) (any, []FieldError) {
			c := store.RollChild{Name: v["name"], TownshipCode: v["township_code"], Village: v["village"], Guardian: v["guardian"]}
			var e1, e2, e3 *FieldError
			c.Sex, e1 = sex("sex", v["sex"])
			c.BirthDate, e2 = date("birth_date", v["birth_date"])
			c.IDCardNo, e3 = idCard("id_card_no", v["id_card_no"])
			errs := []*FieldError{e1, e2, e3, text("name", c.Name, 30), text("village", c.Village, 60), text("guardian", c.Guardian, 30)}
			if e2 == nil && e3 == nil {
				errs = append(errs, birthAgrees("birth_date", c.BirthDate, c.IDCardNo))
			}
			return c, collect(errs...)
		},
		Plan: func(ctx context.Context, env *Env, recs []*Record) error {
			ids := make([]string, len(recs))
			for i, r := range recs {
				ids[i] = r.Data.(store.RollChild).IDCardNo
			}
			old, err := env.Store.RollByIDCard(ctx, ids)
			if err != nil {
				return err
			}
			for _, r := range recs {
				c := r.Data.(store.RollChild)
				t, ok := env.Township(c.TownshipCode)
				if !ok {
					r.Fail("township_code", "no_township", "乡镇代码 %s 不存在（如 T01）", c.TownshipCode)
					continue
				}
				r.UnitCode, r.UnitPath = t.Code, t.Path
				o, known := old[c.IDCardNo]
				if known {
					r.Change("name", o.Name, c.Name)
					r.Change("sex", o.Sex, c.Sex)
					r.Change("birth_date", o.BirthDate, c.BirthDate)
					r.Change("township_code", o.TownshipCode, c.TownshipCode)
					r.Change("village", o.Village, c.Village)
					r.Change("guardian", o.Guardian, c.Guardian)
				}
				r.Decide(!known)
			}
			return nil
		},
		Apply: func(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
			cs := make([]store.RollChild, len(recs))
			entries := make([]store.AuditEntry, len(recs))
			for i, r := range recs {
				c := r.Data.(store.RollChild)
				cs[i] = c
				before, after := changeMaps(r.Fields)
				after["id_card_no"] = c.IDCardNo
				entries[i] = store.AuditEntry{Action: "household_roll." + r.Action, CaseID: "household-roll-" + c.TownshipCode,
					Before: mustJSON(before), After: mustJSON(after)}
			}
			return entries, tx.UpsertRollChildren(ctx, cs)
		},
	})
}
