package identity

import (
	"testing"
	"time"
)

// FuzzCheckIDCard: an accepted number is 17 digits carrying a real birth date and the GB 11643
// check character, computed here again; changing any one of its 17 digits makes it refused (the
// checksum catches every single-digit slip); a refusal always has a reason and a message.
func FuzzCheckIDCard(f *testing.F) {
	for _, s := range []string{"11010519491231002X", "11010519491231002x", "440524188001010014", "110105194912310021",
		"110105194902300028", "1101051949123100X2", "11010519491231002", "１１010519491231002X", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, id string) {
		p := CheckIDCard(id)
		if p != nil {
			if p.Reason == "" || p.Msg == "" || len(p.KV)%2 != 0 {
				t.Fatalf("CheckIDCard(%q) refused without a reason or message: %+v", id, p)
			}
			return
		}
		if len(id) != 18 {
			t.Fatalf("CheckIDCard accepted %q of %d bytes", id, len(id))
		}
		sum := 0
		for i := 0; i < 17; i++ {
			if id[i] < '0' || id[i] > '9' {
				t.Fatalf("CheckIDCard accepted %q: character %d is not a digit", id, i+1)
			}
			sum += int(id[i]-'0') * []int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}[i]
		}
		check := (12 - sum%11) % 11 // GB 11643: the check value makes the weighted sum 1 mod 11
		want := byte('0' + check)
		if check == 10 {
			want = 'X'
		}
		if c := id[17]; c != want && !(want == 'X' && c == 'x') {
			t.Fatalf("CheckIDCard accepted %q: check character %c, want %c", id, c, want)
		}
		if _, err := time.Parse("2006-01-02", BirthDate(id)); err != nil {
			t.Fatalf("CheckIDCard accepted %q whose birth date %s is not a date", id, BirthDate(id))
		}
		for i := 0; i < 17; i++ {
			b := []byte(id)
			b[i] = '0' + (b[i]-'0'+1)%10
			if CheckIDCard(string(b)) == nil {
				t.Fatalf("CheckIDCard accepted %q and also %q, one digit apart", id, b)
			}
		}
	})
}

// FuzzCheckStudentNo: an accepted G number is G and the ID-card number; an accepted L number has
// something after the L; nothing panics on short or odd input.
func FuzzCheckStudentNo(f *testing.F) {
	f.Add("G11010519491231002X", "11010519491231002X")
	f.Add("L2026000123", "")
	f.Add("L", "")
	f.Add("G", "")
	f.Add("g11010519491231002X", "11010519491231002X")
	f.Fuzz(func(t *testing.T, no, idCard string) {
		p := CheckStudentNo(no, idCard)
		if p != nil {
			if p.Reason == "" || p.Msg == "" {
				t.Fatalf("CheckStudentNo(%q, %q) refused without a reason: %+v", no, idCard, p)
			}
			return
		}
		switch {
		case len(no) > 0 && no[0] == 'G':
			if no != "G"+idCard {
				t.Fatalf("CheckStudentNo accepted %q for ID card %q", no, idCard)
			}
		case len(no) > 1 && no[0] == 'L':
		default:
			t.Fatalf("CheckStudentNo accepted %q", no)
		}
	})
}

// FuzzAgeOn: an age is -1 or whole years that count: on the birthday itself it is 0, a year on
// one more.
func FuzzAgeOn(f *testing.F) {
	f.Add("2012-02-29", "2026-02-28")
	f.Add("2012-02-29", "2026-03-01")
	f.Add("2026-09-01", "2012-09-01")
	f.Add("x", "2026-01-01")
	f.Fuzz(func(t *testing.T, birth, day string) {
		age := AgeOn(birth, day)
		b, err1 := time.Parse("2006-01-02", birth)
		d, err2 := time.Parse("2006-01-02", day)
		if err1 != nil || err2 != nil || d.Before(b) {
			if age != -1 {
				t.Fatalf("AgeOn(%q, %q) = %d, want -1", birth, day, age)
			}
			return
		}
		if age < 0 || age > d.Year()-b.Year() || age < d.Year()-b.Year()-1 {
			t.Fatalf("AgeOn(%q, %q) = %d", birth, day, age)
		}
		if AgeOn(birth, birth) != 0 {
			t.Fatalf("AgeOn(%q, itself) = %d", birth, AgeOn(birth, birth))
		}
	})
}
