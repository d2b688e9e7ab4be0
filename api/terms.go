package api

import (
	"strings"

	"jiaofu/casework"

	"github.com/gofiber/fiber/v2"
)

// New applications take a term of this or next school year; an administrator may open others
// (a term a school missed, reopened after a correction) with PUT /api/v1/admin/open-terms.

type openTermsRequest struct {
	Items []string `json:"items" items:"20" max:"20"`
}

// ListOpenTerms lists the terms an administrator opened beyond this and next school year.
func (s *Server) ListOpenTerms(c *fiber.Ctx) error {
	terms, err := s.openTerms(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(terms)})
}

// PutOpenTerms replaces the list of opened terms (admin); an empty list closes them all.
func (s *Server) PutOpenTerms(c *fiber.Ctx) error {
	var req openTermsRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	terms, err := listItems(req.Items, func(field, v string) error {
		if err := ValidTerm(v); err != nil {
			return badValue(field, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	before, err := s.openTerms(c.UserContext())
	if err != nil {
		return err
	}
	if err := s.store.PutSetting(c.UserContext(), openTermsKey, strings.Join(terms, ",")); err != nil {
		return err
	}
	s.audit(c, "open_terms.updated", casework.ProcessSubsidy, "open-terms", map[string]any{"items": before}, map[string]any{"items": terms})
	return c.JSON(fiber.Map{"items": terms})
}
