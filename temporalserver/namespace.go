package temporalserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	enumspb "go.temporal.io/api/enums/v1"
	namespacepb "go.temporal.io/api/namespace/v1"
	"go.temporal.io/api/operatorservice/v1"
	"go.temporal.io/api/serviceerror"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
	sdklog "go.temporal.io/sdk/log"
	"google.golang.org/protobuf/types/known/durationpb"
)

// awaitAndReconcile waits until the frontend answers for the namespace, then
// applies Options' retention and search attributes to it.
func (s *Server) awaitAndReconcile(ctx context.Context, o Options) error {
	c, err := dialReady(ctx, s.frontendAddr, o.Namespace, s.logger)
	if err != nil {
		return err
	}
	defer c.Close()
	return reconcileNamespace(ctx, c, o, s.logger)
}

// registerNamespace registers Options.Namespace with Options.Retention through the frontend,
// waiting for the frontend to answer (bounded by ctx); a namespace that exists already is left to
// reconcileNamespace. This is what a cluster's operator does once (deploy/temporal/init-namespace.sh).
func (s *Server) registerNamespace(ctx context.Context, o Options) error {
	backoff := 50 * time.Millisecond
	for {
		err := func() error {
			actx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			// Dialling checks the frontend's system info only, not the namespace.
			c, err := client.DialContext(actx, client.Options{HostPort: s.frontendAddr, Namespace: o.Namespace,
				Identity: "temporalserver-bootstrap", Logger: sdklog.NewStructuredLogger(s.logger)})
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.WorkflowService().RegisterNamespace(actx, &workflowservice.RegisterNamespaceRequest{
				Namespace: o.Namespace, WorkflowExecutionRetentionPeriod: durationpb.New(o.Retention)})
			var exists *serviceerror.NamespaceAlreadyExists
			if errors.As(err, &exists) {
				return nil
			}
			return err
		}()
		if err == nil {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("temporalserver: registering namespace %q at %s: %w (last error: %v)", o.Namespace, s.frontendAddr, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// dialReady polls until an SDK client can connect and DescribeNamespace
// succeeds, bounded by ctx.
func dialReady(ctx context.Context, addr, namespace string, logger *slog.Logger) (client.Client, error) {
	const attemptTimeout = 5 * time.Second
	backoff := 50 * time.Millisecond
	for {
		c, err := func() (client.Client, error) {
			actx, cancel := context.WithTimeout(ctx, attemptTimeout)
			defer cancel()
			c, err := client.DialContext(actx, client.Options{
				HostPort:  addr,
				Namespace: namespace,
				Identity:  "temporalserver-bootstrap",
				Logger:    sdklog.NewStructuredLogger(logger),
			})
			if err != nil {
				return nil, err
			}
			if _, err := c.WorkflowService().DescribeNamespace(actx, &workflowservice.DescribeNamespaceRequest{Namespace: namespace}); err != nil {
				c.Close()
				return nil, err
			}
			return c, nil
		}()
		if err == nil {
			return c, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("temporalserver: frontend %s not ready: %w (last error: %v)", addr, ctx.Err(), err)
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

// reconcileNamespace brings an existing namespace in line with Options: a new
// one was created with these settings already, so then this changes nothing.
func reconcileNamespace(ctx context.Context, c client.Client, o Options, logger *slog.Logger) error {
	ws := c.WorkflowService()
	desc, err := ws.DescribeNamespace(ctx, &workflowservice.DescribeNamespaceRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("temporalserver: describing namespace %q: %w", o.Namespace, err)
	}
	if cur := desc.GetConfig().GetWorkflowExecutionRetentionTtl().AsDuration(); cur != o.Retention {
		logger.Info("temporalserver: updating namespace retention", "namespace", o.Namespace, "from", cur, "to", o.Retention)
		if _, err := ws.UpdateNamespace(ctx, &workflowservice.UpdateNamespaceRequest{
			Namespace: o.Namespace,
			Config: &namespacepb.NamespaceConfig{
				WorkflowExecutionRetentionTtl: durationpb.New(o.Retention),
			},
		}); err != nil {
			return fmt.Errorf("temporalserver: updating retention of namespace %q: %w", o.Namespace, err)
		}
	}

	if len(o.SearchAttributes) == 0 {
		return nil
	}
	ops := c.OperatorService()
	list, err := ops.ListSearchAttributes(ctx, &operatorservice.ListSearchAttributesRequest{Namespace: o.Namespace})
	if err != nil {
		return fmt.Errorf("temporalserver: listing search attributes of %q: %w", o.Namespace, err)
	}
	missing := map[string]enumspb.IndexedValueType{}
	for name, want := range o.SearchAttributes {
		if have, ok := list.GetCustomAttributes()[name]; ok {
			if have != want {
				return fmt.Errorf("temporalserver: search attribute %q is registered as %v in namespace %q, not %v (a type cannot be changed)", name, have, o.Namespace, want)
			}
			continue
		}
		if _, ok := list.GetSystemAttributes()[name]; ok {
			return fmt.Errorf("temporalserver: %q is a system search attribute", name)
		}
		missing[name] = want
	}
	if len(missing) == 0 {
		return nil
	}
	logger.Info("temporalserver: adding search attributes", "namespace", o.Namespace, "attributes", missing)
	if _, err := ops.AddSearchAttributes(ctx, &operatorservice.AddSearchAttributesRequest{
		Namespace:        o.Namespace,
		SearchAttributes: missing,
	}); err != nil {
		return fmt.Errorf("temporalserver: adding search attributes to %q: %w", o.Namespace, err)
	}
	// The services' caches learn of new attributes when they refresh (the server does not force
	// a refresh on every read here: config.go), so a workflow started at once could be refused.
	// Wait until the frontend accepts a query on each; this happens once, on the start that adds them.
	for name := range missing {
		query := name + " IS NOT NULL"
		for {
			_, err := ws.CountWorkflowExecutions(ctx, &workflowservice.CountWorkflowExecutionsRequest{Namespace: o.Namespace, Query: query})
			if err == nil {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("temporalserver: search attribute %q added to %q but not usable yet: %w", name, o.Namespace, err)
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return nil
}
