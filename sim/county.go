package sim

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	"jiaofu/apiclient"
)

// A school of the generated county, with the three people the simulated processes need: the
// staff member who applies and opens cases, the leader who reviews, and the teacher on the 包保
// chain of every student of the school's one class.
type school struct {
	Code, Township       string // JS-T03-M01, T03
	Staff, Head, Teacher *apiclient.Client
	Profile              profile // how this school's people behave
	Created              span    // the school's creation (it owes its term duties from then on: duty.go)
	Students             []student
}

type student struct {
	ID, Name string
	Dropout  bool // the student also leaves school this term
}

// county is what generate created: schools under the demo's townships (which already have their
// central schools, governments and the county HQ).
type county struct {
	Schools []*school
}

// generate creates Townships × Schools schools with their people and students through the admin
// API. Unit codes, usernames and student numbers carry the seed, so that runs with different
// seeds never collide and the same seed names the same things.
func generate(ctx context.Context, admin *apiclient.Client, rng *rand.Rand, size Size, seed uint64) (*county, error) {
	const password = "sim-password-1"
	cty := &county{}
	n := 0
	for t := 1; t <= size.Townships; t++ {
		tw := fmt.Sprintf("T%02d", t)
		for s := 1; s <= size.Schools; s++ {
			code := fmt.Sprintf("JS-%s-M%02d", tw, s)
			created := span{Sent: time.Now()}
			if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/org-units", map[string]string{
				"code": code, "name": fmt.Sprintf("模拟%s第%d小学", tw, s), "kind": "school", "parent_code": "JS-" + tw}, nil); err != nil {
				return nil, err
			}
			created.Done = time.Now()
			sc := &school{Code: code, Township: tw, Profile: drawProfile(rng), Created: created}
			users := []struct {
				dst  **apiclient.Client
				role string
			}{{&sc.Staff, "school_staff"}, {&sc.Head, "school_leader"}, {&sc.Teacher, "teacher"}}
			for _, u := range users {
				name := fmt.Sprintf("sim%d-%s-m%02d-%s", seed, tw, s, u.role)
				if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/users", map[string]any{"username": lower(name), "password": password,
					"display_name": name, "roles": []map[string]string{{"role": u.role, "unit_code": code}}}, nil); err != nil {
					return nil, err
				}
				c, err := admin.Login(ctx, lower(name), password)
				if err != nil {
					return nil, err
				}
				*u.dst = c
			}
			var unit struct{ ID string }
			if err := admin.Expect(ctx, 200, "GET", "/api/v1/admin/org-units/"+code, nil, &unit); err != nil {
				return nil, err
			}
			for k := 0; k < size.Students; k++ {
				n++
				var st struct{ ID string }
				if err := sc.Staff.Expect(ctx, 201, "POST", "/api/v1/admin/students", map[string]any{
					"student_no": fmt.Sprintf("L%d%06d", seed%1000, n), "name": fmt.Sprintf("模拟学生%d", n), "sex": []string{"男", "女"}[n%2],
					"birth_date": "2016-03-12", "unit_code": code, "grade": 4, "class": "1班", "left_behind": rng.IntN(3) == 0}, &st); err != nil {
					return nil, err
				}
				sc.Students = append(sc.Students, student{ID: st.ID, Name: fmt.Sprintf("模拟学生%d", n), Dropout: rng.Float64() < size.DropoutShare})
			}
			// Once the class has students, its teacher answers for it (包保: teacher → class), so each dropout case's
			// first contact is the teacher's task.
			if err := admin.Expect(ctx, 201, "POST", "/api/v1/admin/responsibilities", map[string]string{
				"subject_kind": "class", "subject_id": unit.ID + "/1班", "username": lower(fmt.Sprintf("sim%d-%s-m%02d-teacher", seed, tw, s))}, nil); err != nil {
				return nil, err
			}
			cty.Schools = append(cty.Schools, sc)
		}
	}
	return cty, nil
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
