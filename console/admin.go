package console

import (
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/api"
	"jiaofu/casework"
	"jiaofu/store"
)

// Administration: org units, users, students and subsidy programmes (list + create).

func init() {
	register(&module{
		Order: 40,
		Label: "管理",
		Nav: []navItem{
			{Order: 40, Label: "学生", Href: "/console/admin/students", Show: roles("school_staff")},
			{Order: 41, Label: "系统管理", Href: "/console/admin/units", Show: roles()},
		},
		Routes: func(r *router) {
			r.get("/console/admin/units", adminUnits)
			r.post("/console/admin/units", createUnit)
			r.get("/console/admin/users", adminUsers)
			r.post("/console/admin/users", createUser)
			r.get("/console/admin/students", adminStudents)
			r.post("/console/admin/students", createStudent)
			r.get("/console/admin/programmes", adminProgrammes)
			r.post("/console/admin/programmes", createProgramme)
		},
	})
}

type adminView struct {
	Tab     string
	IsAdmin bool
	Units   []store.Unit
	Users   []store.User
	Stud    []studentRow
	Progs   []store.Programme
	Kinds   []option
	Parents []option
	Roles   []option
	Schools []option
	Stages  []option
	Sexes   []option
}

// studentRow is a student of the students page with the actions the user may take for them:
// only the student's school staff may apply, only its school or township may open a case.
type studentRow struct {
	store.Student
	CanApply, CanOpenCase bool
}

func (q *req) adminBase(tab string) adminView {
	v := adminView{Tab: tab, IsAdmin: q.actor.Has("admin")}
	for _, k := range store.UnitKinds {
		v.Kinds = append(v.Kinds, option{k, zh("unitkind", k)})
	}
	for _, r := range casework.Roles {
		v.Roles = append(v.Roles, option{r, zh("role", r) + "（" + r + "）"})
	}
	for _, s := range store.Stages {
		v.Stages = append(v.Stages, option{s, zh("stage", s)})
	}
	v.Sexes = []option{{"", "请选择"}, {"男", "男"}, {"女", "女"}}
	return v
}

func (q *req) loadUnits(v *adminView) error {
	var us struct{ Items []store.Unit }
	if err := q.get("/api/v1/admin/org-units", &us); err != nil {
		return err
	}
	v.Units = us.Items
	v.Parents = []option{{"", "（无：教育局本身）"}}
	v.Schools = []option{{"", "请选择学校"}}
	for _, u := range us.Items {
		label := u.Name + "（" + u.Code + "）"
		v.Parents = append(v.Parents, option{u.Code, label})
		if u.Kind == store.KindSchool || u.Kind == store.KindKindergarten {
			if q.actor.Has("admin") || q.actor.Can("school_staff", u.Path) {
				v.Schools = append(v.Schools, option{u.Code, label})
			}
		}
	}
	return nil
}

var unitFields = []string{"code", "name", "kind", "parent_code", "township_code"}

func adminUnits(q *req) error { return q.unitsPage(newForm(unitFields...), fiber.StatusOK) }

func (q *req) unitsPage(f *form, status int) error {
	if !q.actor.Has("admin") {
		return q.fail(&apiError{Status: 403, Code: "forbidden", Message: "this needs one of the roles admin", Params: params{"reason": "roles"}})
	}
	v := q.adminBase("units")
	if err := q.loadUnits(&v); err != nil {
		return q.fail(err)
	}
	return q.render(status, "admin_units", "系统管理 · 单位", v, f)
}

func createUnit(q *req) error {
	f := formFrom(q.c, unitFields...)
	body := map[string]string{"code": f.V("code"), "name": f.V("name"), "kind": f.V("kind"), "parent_code": f.V("parent_code")}
	if f.V("township_code") != "" {
		body["township_code"] = f.V("township_code")
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/admin/org-units", body, nil); err != nil {
		return q.unitsPage(f, f.failed(err))
	}
	return q.redirect("/console/admin/units", "已新增单位 "+f.V("name")+"。")
}

var userFields = []string{"username", "password", "display_name", "role", "unit_code"}

func adminUsers(q *req) error { return q.usersPage(newForm(userFields...), fiber.StatusOK) }

func (q *req) usersPage(f *form, status int) error {
	v := q.adminBase("users")
	var us struct{ Items []store.User }
	if err := q.get("/api/v1/admin/users", &us); err != nil {
		return q.fail(err)
	}
	v.Users = us.Items
	if err := q.loadUnits(&v); err != nil {
		return q.fail(err)
	}
	return q.render(status, "admin_users", "系统管理 · 用户", v, f)
}

func createUser(q *req) error {
	f := formFrom(q.c, userFields...)
	password := q.c.FormValue("password")
	f.Values["password"] = ""
	body := map[string]any{"username": f.V("username"), "password": password, "display_name": f.V("display_name"),
		"roles": []map[string]string{{"role": f.V("role"), "unit_code": f.V("unit_code")}}}
	if _, err := q.call(fiber.MethodPost, "/api/v1/admin/users", body, nil); err != nil {
		return q.usersPage(f, f.failed(err))
	}
	return q.redirect("/console/admin/users", "已新增用户 "+f.V("username")+"。")
}

var studentFields = []string{"student_no", "name", "sex", "birth_date", "id_card_no", "unit_code", "grade", "class",
	"poverty_registered", "household_id", "left_behind", "migrant", "disability"}

func adminStudents(q *req) error { return q.studentsPage(newForm(studentFields...), fiber.StatusOK) }

func (q *req) studentsPage(f *form, status int) error {
	v := q.adminBase("students")
	var sts struct{ Items []store.Student }
	if err := q.get("/api/v1/admin/students", &sts); err != nil {
		return q.fail(err)
	}
	for _, st := range sts.Items {
		v.Stud = append(v.Stud, studentRow{st, api.MayApply(q.actor, st.UnitPath), api.MayOpenDropoutCase(q.actor, st.UnitPath)})
	}
	if err := q.loadUnits(&v); err != nil {
		return q.fail(err)
	}
	if len(v.Schools) == 2 && f.V("unit_code") == "" {
		f.Values["unit_code"] = v.Schools[1].Value
	}
	return q.render(status, "admin_students", "学生", v, f)
}

func createStudent(q *req) error {
	f := formFrom(q.c, studentFields...)
	grade, _ := strconv.Atoi(f.V("grade"))
	body := api.StudentRequest{StudentNo: f.V("student_no"), Name: f.V("name"), Sex: f.V("sex"), BirthDate: f.V("birth_date"),
		IDCardNo: f.V("id_card_no"), UnitCode: f.V("unit_code"), Grade: grade, Class: f.V("class"),
		PovertyRegistered: f.Checked("poverty_registered"), HouseholdID: f.V("household_id"), LeftBehind: f.Checked("left_behind"),
		Migrant: f.Checked("migrant"), Disability: f.V("disability")}
	if f.checked(api.StudentErrors(body)) {
		return q.studentsPage(f, fiber.StatusBadRequest)
	}
	if _, err := q.call(fiber.MethodPost, "/api/v1/admin/students", body, nil); err != nil {
		return q.studentsPage(f, f.failed(err))
	}
	return q.redirect("/console/admin/students", "已新增学生 "+f.V("name")+"。")
}

var programmeFields = []string{"code", "name", "amount", "stage"}

func adminProgrammes(q *req) error {
	return q.programmesPage(newForm(programmeFields...), fiber.StatusOK)
}

func (q *req) programmesPage(f *form, status int) error {
	v := q.adminBase("programmes")
	var ps struct{ Items []store.Programme }
	if err := q.get("/api/v1/admin/subsidy-programmes", &ps); err != nil {
		return q.fail(err)
	}
	v.Progs = ps.Items
	return q.render(status, "admin_programmes", "系统管理 · 资助项目", v, f)
}

var yuanRe = regexp.MustCompile(`^\d{1,9}(\.\d{1,2})?$`)

// fenOf reads an amount in yuan ("500", "500.5", "500.00", "¥1,000.00") as fen.
func fenOf(s string) (int64, bool) {
	s = strings.NewReplacer("¥", "", "￥", "", ",", "", "，", "", "元", "").Replace(strings.TrimSpace(s))
	if !yuanRe.MatchString(s) {
		return 0, false
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, false
	}
	return int64(math.Round(v * 100)), true
}

func createProgramme(q *req) error {
	f := formFrom(q.c, programmeFields...)
	fen, ok := fenOf(f.V("amount"))
	if !ok {
		f.failed(errorf("amount", "yuan_format", "not an amount in yuan such as 500.00"))
		return q.programmesPage(f, fiber.StatusBadRequest)
	}
	body := map[string]any{"code": f.V("code"), "name": f.V("name"), "amount_fen": fen, "stage": f.V("stage")}
	if _, err := q.call(fiber.MethodPost, "/api/v1/admin/subsidy-programmes", body, nil); err != nil {
		return q.programmesPage(f, f.failed(err))
	}
	return q.redirect("/console/admin/programmes", "已新增资助项目 "+f.V("name")+"。")
}
