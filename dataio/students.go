package dataio

import (
	"context"
	"strconv"
	"strings"

	"jiaofu/casework"
	"jiaofu/identity"
	"jiaofu/store"
)

// The student register (学籍): one row per pupil, keyed by 学籍号. A known 学籍号 updates the
// student and says what changed. The 建档立卡 flag and the disability come from their own
// registers (poverty-registry, disability-register), never from this sheet, so that re-importing
// a school's roster cannot undo what the registry says; a new student takes them from the
// registers when they already list the ID-card number.
func init() {
	Register(&Kind{
		Name:  "students",
		Label: "学生学籍",
		Columns: []Column{
			{Header: "学籍号", Field: "student_no", Required: true, Example: "G420528201503150012", Note: "G + 身份证号，无身份证号的学生为 L + 临时号"},
			{Header: "姓名", Field: "name", Required: true, Example: "张小明"},
			{Header: "性别", Field: "sex", Required: true, Example: "男", Note: "男 / 女"},
			{Header: "出生日期", Field: "birth_date", Required: true, Example: "2015-03-15", Note: "如 2015-03-15，须与身份证号一致"},
			{Header: "身份证号", Field: "id_card_no", Example: "420528201503150012", Note: "18 位，末位可为 X"},
			{Header: "学校代码", Field: "unit_code", Required: true, Example: "JS-T01-S01"},
			{Header: "年级", Field: "grade", Required: true, Example: "5", Note: "1–12；幼儿园为 1–3（小、中、大班）"},
			{Header: "班级", Field: "class", Required: true, Example: "2"},
			{Header: "留守儿童", Field: "left_behind", Example: "否", Note: "是 / 否"},
			{Header: "随迁子女", Field: "migrant", Example: "否", Note: "是 / 否"},
		},
		Roles:    []string{casework.RoleSchoolStaff, casework.RoleAdmin},
		KeyField: "student_no",
		Check:    checkStudentRow,
		Plan:     planStudents,
		Apply:    applyStudents,
	})
}

func checkStudentRow(v Values) (any, []FieldError) {
	st := store.Student{StudentNo: v["student_no"], Name: v["name"], UnitCode: v["unit_code"], Class: v["class"]}
	var errs []*FieldError
	var e *FieldError
	st.Sex, e = sex("sex", v["sex"])
	errs = append(errs, e)
	st.BirthDate, e = date("birth_date", v["birth_date"])
	errs = append(errs, e)
	idOK := true
	if v["id_card_no"] != "" {
		st.IDCardNo, e = idCard("id_card_no", v["id_card_no"])
		errs, idOK = append(errs, e), e == nil
		if idOK && st.BirthDate != "" {
			errs = append(errs, birthAgrees("birth_date", st.BirthDate, st.IDCardNo))
		}
	}
	if idOK {
		if p := identity.CheckStudentNo(st.StudentNo, st.IDCardNo); p != nil {
			msg := "学籍号应为 G + 身份证号，或 L + 临时号"
			if p.Reason == "student_no_g" {
				msg = "G 开头的学籍号应为 G + 本人身份证号（与身份证号一列不符）"
			}
			errs = append(errs, &FieldError{Field: "student_no", Reason: p.Reason, Message: msg})
		}
	}
	g, err := strconv.Atoi(strings.TrimSuffix(v["grade"], "年级"))
	if err != nil || g < 1 || g > 12 {
		errs = append(errs, &FieldError{Field: "grade", Reason: "grade_range", Message: "年级应为 1–12 的数字（幼儿园为 1–3）"})
	}
	st.Grade = g
	errs = append(errs, text("name", st.Name, 30), text("class", st.Class, 20), text("student_no", st.StudentNo, 40))
	st.LeftBehind, e = yes("left_behind", v["left_behind"])
	errs = append(errs, e)
	st.Migrant, e = yes("migrant", v["migrant"])
	errs = append(errs, e)
	return st, collect(errs...)
}

func planStudents(ctx context.Context, env *Env, recs []*Record) error {
	var nos, ids []string
	for _, r := range recs {
		st := r.Data.(store.Student)
		nos = append(nos, st.StudentNo)
		if st.IDCardNo != "" {
			ids = append(ids, st.IDCardNo)
		}
	}
	byNo, byID, err := env.Store.StudentsByNumber(ctx, nos, ids)
	if err != nil {
		return err
	}
	poor, err := env.Store.PovertyMembersByIDCard(ctx, ids)
	if err != nil {
		return err
	}
	disabled, err := env.Store.DisabilityByIDCard(ctx, ids)
	if err != nil {
		return err
	}
	idRow := map[string]int{}
	for _, r := range recs {
		st := r.Data.(store.Student)
		u, ok := env.School(st.UnitCode)
		if !ok {
			r.Fail("unit_code", "no_unit", "学校代码 %s 不存在（请核对学校代码）", st.UnitCode)
			continue
		}
		st.UnitID, st.UnitName, st.UnitPath, st.UnitKind = u.ID, u.Name, u.Path, u.Kind
		r.UnitCode, r.UnitPath = u.Code, u.Path
		if st.IDCardNo != "" {
			if first, dup := idRow[st.IDCardNo]; dup {
				r.Fail("id_card_no", "duplicate_in_file", "与第 %d 行的身份证号相同", first)
				continue
			}
			idRow[st.IDCardNo] = r.Row
		}
		old, known := byNo[st.StudentNo]
		if other, taken := byID[st.IDCardNo]; st.IDCardNo != "" && taken && (!known || other.ID != old.ID) {
			r.Fail("id_card_no", "duplicate_in_store", "该身份证号已登记在%s的另一名学生名下", other.UnitName)
			continue
		}
		if known && !env.Actor.Has(casework.RoleAdmin) && !env.Actor.Can(casework.RoleSchoolStaff, old.UnitPath) {
			r.Fail("student_no", "not_in_scope", "该学籍号登记在%s，不在您的管辖范围内", old.UnitName)
			continue
		}
		if !known {
			st.ID = store.NewID("st")
			if m, ok := poor[st.IDCardNo]; ok && st.IDCardNo != "" {
				st.PovertyRegistered, st.HouseholdID = true, m.HouseholdID
			}
			if d, ok := disabled[st.IDCardNo]; ok && st.IDCardNo != "" {
				st.Disability = disabilityOf(d)
			}
			r.Data = st
			r.Decide(true)
			continue
		}
		st.ID = old.ID
		r.Change("name", old.Name, st.Name)
		r.Change("sex", sexWord(old.Sex), st.Sex)
		r.Change("birth_date", old.BirthDate, st.BirthDate)
		r.Change("id_card_no", old.IDCardNo, st.IDCardNo)
		r.Change("unit_code", old.UnitCode, st.UnitCode)
		r.Change("grade", strconv.Itoa(old.Grade), strconv.Itoa(st.Grade))
		r.Change("class", old.Class, st.Class)
		r.Change("left_behind", yesNo(old.LeftBehind), yesNo(st.LeftBehind))
		r.Change("migrant", yesNo(old.Migrant), yesNo(st.Migrant))
		if sexWord(old.Sex) == st.Sex {
			st.Sex = old.Sex // an older record's M or F stays as it was written
		}
		r.Data = st
		r.Decide(false)
	}
	return nil
}

func applyStudents(ctx context.Context, tx *store.ImportTx, _ *Env, recs []*Record) ([]store.AuditEntry, error) {
	var news []store.Student
	var entries []store.AuditEntry
	for _, r := range recs {
		st := r.Data.(store.Student)
		if r.Action == ActionCreated {
			news = append(news, st)
			entries = append(entries, store.AuditEntry{Action: "student.imported", CaseID: st.ID,
				After: mustJSON(map[string]any{"student_no": st.StudentNo, "name": st.Name, "unit": st.UnitCode, "grade": st.Grade, "class": st.Class})})
			continue
		}
		if err := tx.UpdateStudent(ctx, st); err != nil {
			return nil, err
		}
		before, after := changeMaps(r.Fields)
		entries = append(entries, store.AuditEntry{Action: "student.updated", CaseID: st.ID, Before: mustJSON(before), After: mustJSON(after)})
	}
	return entries, tx.CreateStudents(ctx, news)
}

// changeMaps are a record's changes as an audit entry's before and after, by field (the
// personal fields among them are masked on every read of the trail, as the API's are).
func changeMaps(fs []FieldChange) (before, after map[string]string) {
	before, after = map[string]string{}, map[string]string{}
	for _, f := range fs {
		before[f.Field], after[f.Field] = f.Before, f.After
	}
	return before, after
}
