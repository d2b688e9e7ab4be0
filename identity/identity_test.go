package identity

import "testing"

func TestCheckIDCard(t *testing.T) {
	for id, want := range map[string]string{
		"42282220160312014X": "id_card_check", // the right character is 4
		"422822201603120144": "",
		"42282220160332014X": "id_card_birth_date",
		"4228222016031201":   "id_card_length",
		"4228222016A312014X": "id_card_digits",
		"11010519491231002x": "", // a lower-case x is the check character X
	} {
		p := CheckIDCard(id)
		if got := ""; p != nil {
			got = p.Reason
			if got != want {
				t.Errorf("%s: %s, want %s", id, got, want)
			}
		} else if want != "" {
			t.Errorf("%s: accepted, want %s", id, want)
		}
	}
	if BirthDate("422822201603120144") != "2016-03-12" {
		t.Errorf("birth date of an ID-card number")
	}
}

func TestCheckStudentNo(t *testing.T) {
	id := "422822201603120144"
	for no, want := range map[string]string{"G" + id: "", "G422822201603120140": "student_no_g", "L2026001": "", "L": "student_no_format", "X1": "student_no_format"} {
		p := CheckStudentNo(no, id)
		if (p == nil) != (want == "") || p != nil && p.Reason != want {
			t.Errorf("%s: %v, want %q", no, p, want)
		}
	}
}

func TestAgeOn(t *testing.T) {
	for _, c := range []struct {
		birth, day string
		age        int
	}{
		{"2020-09-01", "2026-09-01", 6}, {"2020-09-02", "2026-09-01", 5}, {"2011-09-01", "2026-09-01", 15},
		{"2010-09-02", "2026-09-01", 15}, {"2010-09-01", "2026-09-01", 16}, {"2016-02-29", "2026-02-28", 9},
		{"2027-01-01", "2026-09-01", -1}, {"no", "2026-09-01", -1},
	} {
		if got := AgeOn(c.birth, c.day); got != c.age {
			t.Errorf("AgeOn(%s, %s) = %d, want %d", c.birth, c.day, got, c.age)
		}
	}
}
