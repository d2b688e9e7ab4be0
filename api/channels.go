package api

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/gofiber/fiber/v2"

	"jiaofu/casework"
	"jiaofu/workflows"
)

type channelsRequest struct {
	Items []string `json:"items" items:"20" max:"20"`
}

// ListDisbursementChannels lists the channels a sign-off may pay through (any login: the
// sign-off form offers them).
func (s *Server) ListDisbursementChannels(c *fiber.Ctx) error {
	names, err := s.store.DisbursementChannels(c.UserContext())
	if err != nil {
		return err
	}
	return c.JSON(fiber.Map{"items": orEmpty(names)})
}

// PutDisbursementChannels replaces the list (admin). Sign-offs already made keep their channel.
func (s *Server) PutDisbursementChannels(c *fiber.Ctx) error {
	var req channelsRequest
	if err := parseBody(c, &req); err != nil {
		return err
	}
	if len(req.Items) == 0 {
		return bad("items", "list at least one channel, such as %s", workflows.DefaultChannel)
	}
	names, err := listItems(req.Items, func(field, v string) error { return text(field, v, 20) })
	if err != nil {
		return err
	}
	before, err := s.store.DisbursementChannels(c.UserContext())
	if err != nil {
		return err
	}
	if err := s.store.SetDisbursementChannels(c.UserContext(), names); err != nil {
		return err
	}
	s.audit(c, "disbursement_channels.updated", casework.ProcessSubsidy, "disbursement-channels",
		map[string]any{"items": before}, map[string]any{"items": names})
	return c.JSON(fiber.Map{"items": names})
}

// checkSignoffChannel refuses a sign-off whose channel is not on the admin's list, before the
// workflow is asked: the channel becomes the disbursement's record, and a typo there ("bogus
// channel") would be on record as how the money was paid. No channel means the default, which
// must be on the list too. The channel sent on is trimmed, as it was checked.
func (s *Server) checkSignoffChannel(c *fiber.Ctx, t casework.Task, action *workflows.TaskAction) error {
	if t.Kind != casework.KindPublicitySignoff || action.Outcome != casework.OutcomeApprove {
		return nil
	}
	channel := strings.TrimSpace(action.Fields["channel"])
	if channel == "" {
		channel = workflows.DefaultChannel
	}
	if err := s.knownChannel(c.UserContext(), "fields.channel", channel); err != nil {
		return err
	}
	if action.Fields == nil {
		action.Fields = map[string]string{}
	}
	action.Fields["channel"] = channel
	return nil
}

// knownChannel refuses a channel that is not on the admin's list of disbursement channels,
// naming field: a payment's channel is the record of how money was paid.
func (s *Server) knownChannel(ctx context.Context, field, channel string) error {
	names, err := s.store.DisbursementChannels(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(names, channel) {
		return bad(field, "%s is not a disbursement channel; choose one of %s (an administrator keeps the list)",
			quote(channel), strings.Join(names, ", ")).because("unknown_channel", "channels", strings.Join(names, "、"))
	}
	return nil
}

// listItems trims an admin's list (items[i]), checks each entry and refuses one listed twice.
func listItems(items []string, check func(field, v string) error) ([]string, error) {
	out := make([]string, 0, len(items))
	for i, v := range items {
		field := fmt.Sprintf("items[%d]", i)
		v = strings.TrimSpace(v)
		if err := check(field, v); err != nil {
			return nil, err
		}
		if slices.Contains(out, v) {
			return nil, bad(field, "%s is listed twice", quote(v))
		}
		out = append(out, v)
	}
	return out, nil
}
