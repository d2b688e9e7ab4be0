package dataio

import (
	"context"
	"slices"
	"strings"

	"jiaofu/casework"
	"jiaofu/store"
)

// The disability register (残疾人证), from the disabled persons' federation, keyed by ID-card
// number. A person who is a student gets the disability (type and grade) on their record,
// which the send-home plans and the special-groups reports read.
func init() {
	Register(&Kind{
		Name:  "disability-register",
		Label: "残疾人登记",
		Columns: []Column{
			{Header: "姓名", Field: "name", Required: true, Example: "李小红"},
			{Header: "身份证号", Field: "id_card_no", Required: true, Example: "420528201206200025"},
			{Header: "残疾类别", Field: "disability_type", Required: true, Example: "肢体", Note: strings.Join(disabilityTypes, " / ")},
			{Header: "残疾等级", Field: "disability_grade", Example: "二级", Note: strings.Join(disabilityGrades, " / ")},
			{Header: "残疾人证号", Field: "certificate_no", Example: "42052820120620002542B2"},
		},
		Roles:    []string{casework.RoleEducationSection, casework.RoleAidCenter, casework.RoleAdmin},
		KeyField: "id_card_no",
		Check: func(v Values) (any, []FieldError) {
			d := store.DisabilityEntry{Name: v["name"], DisabilityType: strings.TrimSuffix(v["disability_type"], "残疾"),
				DisabilityGrade: v["disability_grade"], CertificateNo: v["certificate_no"]}
			var e *FieldError
			d.IDCardNo, e = idCard("id_card_no", v["id_card_no"])
			errs := []*FieldError{e, text("name", d.Name, 30), text("certificate_no", d.CertificateNo, 40)}
			if !slices.Contains(disabilityTypes, d.DisabilityType) {
				errs = append(errs, &FieldError{Field: "disability_type", Reason: "one_of", Message: "残疾类别应为：" + strings.Join(disabilityTypes, "、")})
			}
			if d.DisabilityGrade != "" && !slices.Contains(disabilityGrades, d.DisabilityGrade) {
				errs = append(errs, &FieldError{Field: "disability_grade", Reason: "one_of", Message: "残疾等级应为：" + strings.Join(disabilityGrades, "、")})
			}
			return d, collect(errs...)
		},
		Plan:  planDisability,
		Apply: applyDisability,
	})
}

// The categories and grades of China's disability certificate (GB/T 26341).
var (
	disabilityTypes  = []string{"视力", "听力", "言语", "肢体", "智力", "精神", "多重"}
	disabilityGrades = []string{"一级", "二级", "三级", "四级"}
)

// disabilityOf is a register entry as a student's disability field says it (肢体 二级).
func disabilityOf(d store.DisabilityEntry) string {
	return strings.TrimSpace(d.DisabilityType + " " + d.DisabilityGrade)
}

type disabilityRecord struct {
	store.DisabilityEntry
	studentID string
}

func planDisability(ctx context.Context, env *Env, recs []*Record) error {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.Data.(store.DisabilityEntry).IDCardNo
	}
	old, err := env.Store.DisabilityByIDCard(ctx, ids)
	if err != nil {
		return err
	}
	_, students, err := env.Store.StudentsByNumber(ctx, nil, ids)
	if err != nil {
		return err
	}
	root := env.root()
	for _, r := range recs {
		d := r.Data.(store.DisabilityEntry)
		r.UnitCode, r.UnitPath = root.Code, root.Path // a county register: the importer's section reaches it
		o, known := old[d.IDCardNo]
		if known {
			r.Change("name", o.Name, d.Name)
			r.Change("disability_type", o.DisabilityType, d.DisabilityType)
			r.Change("disability_grade", o.DisabilityGrade, d.DisabilityGrade)
			r.Change("certificate_no", o.CertificateNo, d.CertificateNo)
		}
		dr := disabilityRecord{DisabilityEntry: d}
		if st, ok := students[d.IDCardNo]; ok {
			r.UnitCode = st.UnitCode
			if st.Disability != disabilityOf(d) {
				r.Fields = append(r.Fields, FieldChange{Field: "disability", Column: "学生残疾情况", Before: st.Disability, After: disabilityOf(d)})
				dr.studentID = st.ID
			}
		}
		r.Data = dr
		r.Decide(!known)
	}
	return nil
}

func applyDisability(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
	es := make([]store.DisabilityEntry, len(recs))
	var entries []store.AuditEntry
	for i, r := range recs {
		dr := r.Data.(disabilityRecord)
		es[i] = dr.DisabilityEntry
		before, after := changeMaps(r.Fields)
		after["id_card_no"] = dr.IDCardNo
		caseID := "disability-register"
		if dr.studentID != "" {
			if err := tx.SetDisability(ctx, dr.studentID, disabilityOf(dr.DisabilityEntry)); err != nil {
				return nil, err
			}
			caseID = dr.studentID
		}
		entries = append(entries, store.AuditEntry{Action: "disability." + r.Action, CaseID: caseID, Before: mustJSON(before), After: mustJSON(after)})
	}
	return entries, tx.UpsertDisabilityEntries(ctx, es)
}
