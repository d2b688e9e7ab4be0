package api

import (
	"strings"
	"testing"

	"jiaofu/access"
	"jiaofu/casework"
	"jiaofu/store"
)

// The viewers of a pupil of 业州镇第一小学, by role and unit as the demo has them.
var (
	schoolPath = "/JS/JS-T01/JS-T01-S01/"
	atSchool   = func(role string) access.Actor {
		return access.Actor{Roles: []access.Role{{Role: role, UnitCode: "JS-T01-S01", UnitKind: "school", UnitPath: schoolPath}}}
	}
	atSection = func(role, code string) access.Actor {
		return access.Actor{Roles: []access.Role{{Role: role, UnitCode: code, UnitKind: "section", UnitPath: "/JS/" + code + "/"}}}
	}
	insiders = map[string]access.Actor{
		"school staff":  atSchool(casework.RoleSchoolStaff),
		"teacher":       atSchool(casework.RoleTeacher),
		"school leader": atSchool(casework.RoleSchoolLeader),
		"aid center":    atSection(casework.RoleAidCenter, "JS-ZZZX"),
		"township staff who also teaches there": {Roles: []access.Role{
			{Role: casework.RoleTownshipStaff, UnitCode: "JS-T01", UnitKind: "township_school", UnitPath: "/JS/JS-T01/"},
			{Role: casework.RoleTeacher, UnitCode: "JS-T01-S01", UnitKind: "school", UnitPath: schoolPath}}},
	}
	outsiders = map[string]access.Actor{
		"township staff": {Roles: []access.Role{{Role: casework.RoleTownshipStaff, UnitCode: "JS-T01", UnitKind: "township_school", UnitPath: "/JS/JS-T01/"}}},
		"another school's staff": {Roles: []access.Role{{Role: casework.RoleSchoolStaff, UnitCode: "JS-T01-S02", UnitKind: "school",
			UnitPath: "/JS/JS-T01/JS-T01-S02/"}}},
		"education section": atSection(casework.RoleEducationSection, "JS-JYG"),
		"poverty office":    atSection(casework.RolePAOffice, "JS-FPB"),
		"inspector":         atSection(casework.RoleInspector, "JS-DDB"),
		"supervision":       atSection(casework.RoleSupervision, "JS-JCS"),
		"bureau leader":     {Roles: []access.Role{{Role: casework.RoleBureauLeader, UnitCode: "JS", UnitKind: "bureau", UnitPath: "/JS/"}}},
		"admin":             {Roles: []access.Role{{Role: casework.RoleAdmin, UnitCode: "JS", UnitKind: "bureau", UnitPath: "/JS/"}}},
		"no role":           {},
	}
)

const pupilID = "422822201603121036" // 张小三's number shape: region 422822, born 2016-03-12

func pupil() store.Student {
	return store.Student{ID: "st_1", StudentNo: "G" + pupilID, Name: "张小三", BirthDate: "2016-03-12", IDCardNo: pupilID,
		UnitCode: "JS-T01-S01", UnitPath: schoolPath}
}

func TestStudentViewInsideTheSchoolAndAidCenter(t *testing.T) {
	t.Parallel()
	for who, a := range insiders {
		if got := (&Server{}).studentView(a, pupil()); got != pupil() {
			t.Errorf("%s sees %+v, want the whole record", who, got)
		}
	}
}

// TestStudentViewOutside: outside the school and the aid center an identity number keeps its last
// four characters and the birth date its year, so that the two together cannot be solved for the
// whole number.
func TestStudentViewOutside(t *testing.T) {
	t.Parallel()
	temporary := pupil()
	temporary.StudentNo = "L2024000123"
	for who, a := range outsiders {
		got := (&Server{}).studentView(a, pupil())
		if got.IDCardNo != "**************1036" || got.StudentNo != "***************1036" || got.BirthDate != "2016" {
			t.Errorf("%s sees id %q, student no %q, born %q", who, got.IDCardNo, got.StudentNo, got.BirthDate)
		}
		if got.Name != "张小三" || got.UnitCode != "JS-T01-S01" {
			t.Errorf("%s lost a field it needs: %+v", who, got)
		}
		if got := (&Server{}).studentView(a, temporary).StudentNo; got != "*******0123" {
			t.Errorf("%s sees the temporary student number as %q", who, got)
		}
		if strings.Contains(got.IDCardNo+got.StudentNo, "0312") {
			t.Errorf("%s sees the birth date in a number", who)
		}
	}
}

// TestTimelineMasksRecordedPersonalFields: the trail's before/after values go through the same
// mask as the student record, at any depth and under whichever key a task's fields used, and
// come back byte for byte when they hold nothing personal.
func TestTimelineMasksRecordedPersonalFields(t *testing.T) {
	t.Parallel()
	created := `{"student_no":"G` + pupilID + `","unit":"JS-T01-S01"}`
	fields := `{"fields":{"id_card_no":"` + pupilID + `","birth_date":"2016-03-12"},"ids":{"id_card":["` + pupilID + `"]},"amount_fen":50000}`
	plain := `{"note":"<家访>","amount_fen":50000,"state":"approved"}`
	es := []store.AuditEntry{{Action: "student.created", After: created}, {Action: "task.completed", Before: "{}", After: fields},
		{Action: "subsidy.approved", After: plain}}
	for who, a := range outsiders {
		got := personalViewOf(a, "JS-T01-S01", schoolPath).timeline(es)
		if got[0].After != `{"student_no":"***************1036","unit":"JS-T01-S01"}` {
			t.Errorf("%s sees %s", who, got[0].After)
		}
		if got[1].After != `{"amount_fen":50000,"fields":{"birth_date":"2016","id_card_no":"**************1036"},"ids":{"id_card":["**************1036"]}}` {
			t.Errorf("%s sees %s", who, got[1].After)
		}
		if got[1].Before != "{}" || got[2].After != plain {
			t.Errorf("%s sees an entry without personal fields changed: %q, %q", who, got[1].Before, got[2].After)
		}
	}
	if es[0].After != created {
		t.Errorf("masking changed the stored entry: %s", es[0].After)
	}
	for who, a := range insiders {
		if got := personalViewOf(a, "JS-T01-S01", schoolPath).timeline(es); got[0].After != created || got[1].After != fields {
			t.Errorf("%s sees %s, %s", who, got[0].After, got[1].After)
		}
	}
	// A case whose unit is unknown is read outside every school: masked even for the aid center.
	if got := personalViewOf(insiders["aid center"], "", "").timeline(es); got[0].After == created {
		t.Errorf("a case of no unit shows %s", got[0].After)
	}
}

func TestObjectorContactOnlyForReviewersAndSupervision(t *testing.T) {
	t.Parallel()
	const contact = "13912345678"
	obs := []casework.Objection{{ID: "o1", Reason: "其家庭有商铺两间", Contact: contact}}
	es := []store.AuditEntry{{Action: "objection.filed", After: `{"objection_id":"o1","contact":"` + contact + `","reason":"x"}`}}
	may := map[string]bool{"aid center": true, "supervision": true}
	all := map[string]access.Actor{}
	for who, a := range insiders {
		all[who] = a
	}
	for who, a := range outsiders {
		all[who] = a
	}
	for who, a := range all {
		v := personalViewOf(a, "JS-T01-S01", schoolPath)
		got, tl := v.objections(obs)[0], v.timeline(es)[0]
		if may[who] {
			if got.Contact != contact || !strings.Contains(tl.After, contact) {
				t.Errorf("%s, who reviews or supervises, does not see the contact: %q, %s", who, got.Contact, tl.After)
			}
			continue
		}
		if got.Contact != "" || strings.Contains(tl.After, contact) {
			t.Errorf("%s sees the objector's contact: %q, %s", who, got.Contact, tl.After)
		}
		if got.Reason != obs[0].Reason || got.ID != "o1" {
			t.Errorf("%s does not see the objection itself: %+v", who, got)
		}
	}
	if obs[0].Contact != contact {
		t.Error("masking changed the objection it was given")
	}
}
