package api

import (
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// A list's filters take a closed set of values. One the service does not know is refused, naming
// the parameter and what it takes: answering everything or nothing instead looks like an answer,
// and a clerk who typed "submited" would read an empty list as "none".

// filterParam reads the optional filter name, which takes one of values; "" when it is absent.
func filterParam(c *fiber.Ctx, name string, values []string) (string, error) {
	v := c.Query(name)
	if v == "" || slices.Contains(values, v) {
		return v, nil
	}
	return "", bad(name, "%s is not one of %s", quote(v), strings.Join(values, ", ")).because("one_of")
}

// renamedFilter reads a filter under its name — the name of the field it filters on in the listed
// objects — or under the name it had before (old), which outside clients may still send: names
// are a contract. Both at once must agree.
func renamedFilter(c *fiber.Ctx, name, old string, values []string) (string, error) {
	v, err := filterParam(c, name, values)
	if err != nil {
		return "", err
	}
	was, err := filterParam(c, old, values)
	if err != nil {
		return "", err
	}
	if v != "" && was != "" && v != was {
		return "", bad(name, "%s and %s (its former name) say different things; send %s only", name, old, name)
	}
	if v == "" {
		v = was
	}
	return v, nil
}
