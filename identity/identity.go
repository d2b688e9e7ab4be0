// Package identity checks the numbers a person is known by in the county's registers: the
// resident ID-card number (身份证号, GB 11643) and the national student number (全国学籍号). The
// API's field checks and the spreadsheet imports apply the same rules from here. It imports
// nothing of jiaofu's.
package identity

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Problem is a number that breaks a rule: Reason names the rule (the API's params.reason, the
// console's wording key), KV holds the values a sentence about it needs, and Msg says it in
// English for logs and API messages.
type Problem struct {
	Reason string
	KV     []string
	Msg    string
}

func (p *Problem) Error() string { return p.Msg }

func problem(reason string, kv []string, format string, args ...any) *Problem {
	return &Problem{Reason: reason, KV: kv, Msg: fmt.Sprintf(format, args...)}
}

var idCardWeights = [17]int{7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2}

const idCardCheck = "10X98765432"

// CheckIDCard checks an 18-character resident ID number: digits, a real birth date, and the
// GB 11643 check character (0–9 or X, either case).
func CheckIDCard(id string) *Problem {
	if len(id) != 18 {
		return problem("id_card_length", nil, "must have 18 characters")
	}
	sum := 0
	for i := 0; i < 17; i++ {
		if id[i] < '0' || id[i] > '9' {
			return problem("id_card_digits", []string{"position", strconv.Itoa(i + 1)}, "character %d must be a digit", i+1)
		}
		sum += int(id[i]-'0') * idCardWeights[i]
	}
	if _, err := time.Parse("20060102", id[6:14]); err != nil {
		return problem("id_card_birth_date", nil, "characters 7–14 must be a real birth date")
	}
	if want := idCardCheck[sum%11]; strings.ToUpper(id[17:]) != string(want) {
		return problem("id_card_check", nil, "check character is wrong (GB 11643)")
	}
	return nil
}

// BirthDate is the birth date an ID-card number carries (characters 7–14), as 2006-01-02; the
// number must have passed CheckIDCard.
func BirthDate(id string) string {
	return id[6:10] + "-" + id[10:12] + "-" + id[12:14]
}

// CheckStudentNo checks a national student number against the student's ID-card number: G and
// the ID-card number, or L and a temporary number for a student who has none.
func CheckStudentNo(no, idCard string) *Problem {
	switch {
	case strings.HasPrefix(no, "G"):
		if no[1:] != idCard {
			return problem("student_no_g", nil, "a G number is G followed by the student's ID-card number")
		}
	case strings.HasPrefix(no, "L") && len(no) > 1:
	default:
		return problem("student_no_format", nil, "must be G + ID-card number, or L + a temporary number")
	}
	return nil
}

// AgeOn is a person's age in whole years on day (both 2006-01-02); -1 when either is not a date.
func AgeOn(birth, day string) int {
	b, err1 := time.Parse("2006-01-02", birth)
	d, err2 := time.Parse("2006-01-02", day)
	if err1 != nil || err2 != nil || d.Before(b) {
		return -1
	}
	age := d.Year() - b.Year()
	if d.Month() < b.Month() || d.Month() == b.Month() && d.Day() < b.Day() {
		age--
	}
	return age
}
