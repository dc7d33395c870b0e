package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/internal/config"
	"github.com/edusmarthub/edusmarthub/internal/directory"
	"github.com/edusmarthub/edusmarthub/notify"
	"github.com/edusmarthub/edusmarthub/sagas"
	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

// sagaSettings maps the configuration to the workflows' settings; what
// has no setting keeps its default.
func sagaSettings(cfg config.Config) sagas.Settings {
	s := sagas.DefaultSettings()
	s.InterventionFollowUp = cfg.InterventionFollowUp
	s.LessonsPerWeek = cfg.LessonsPerWeek
	return s
}

// deliveryConfigs maps the SMTP and webhook settings to the notify
// package's; nil for a channel not configured.
func deliveryConfigs(cfg config.Config) (*notify.SMTPConfig, *notify.WebhookConfig) {
	var smtp *notify.SMTPConfig
	if cfg.SMTPHost != "" {
		smtp = &notify.SMTPConfig{
			Host: cfg.SMTPHost, Port: cfg.SMTPPort, Username: cfg.SMTPUsername, Password: cfg.SMTPPassword,
			From: cfg.SMTPFrom, TLS: cfg.SMTPTLS,
		}
	}
	var hook *notify.WebhookConfig
	if cfg.WebhookURL != "" {
		hook = &notify.WebhookConfig{URL: cfg.WebhookURL, Secret: cfg.WebhookSecret}
	}
	return smtp, hook
}

// liveSagas runs the workflows in the background: their Kafka consumers,
// the deadline loop and, when configured, the notification deliveries.
type liveSagas struct {
	Runtime *sagas.Runtime
	stop    context.CancelFunc
	wg      sync.WaitGroup
}

// startSagas builds the workflows over repo (their commands go through
// the same handlers as the API's) and starts consuming. The read models
// the workflows consult (internal/directory) may still be building: the
// workflows treat them as possibly lagging anyway.
func startSagas(ctx context.Context, cfg config.Config, pool *pgxpool.Pool, repo *commands.Repository, kcfg kafka.Config, reg prometheus.Registerer, logger *slog.Logger) (*liveSagas, error) {
	log := logger.With("component", "sagas")
	admins, err := directory.ParseAdminAddresses(cfg.AdminEmails)
	if err != nil {
		return nil, fmt.Errorf("EDUSMARTHUB_ADMIN_EMAILS: %w", err)
	}
	dir := directory.New(pool, directory.WithAdminAddresses(admins))
	deps := sagas.Deps{Repo: repo, Notifier: sagas.NewInboxNotifier(repo), Directory: dir, Settings: sagaSettings(cfg)}
	rt, err := sagas.NewRuntime(sagas.Config{
		Pool: pool, Clock: sagas.SystemClock{}, Logger: log, Registerer: reg, Tick: cfg.SagaTick,
	}, sagas.All(deps)...)
	if err != nil {
		return nil, err
	}
	handlers := kafka.SagaHandlers(rt)
	var dispatcher *notify.Dispatcher
	if smtp, hook := deliveryConfigs(cfg); smtp != nil || hook != nil {
		dispatcher, err = notify.NewDispatcher(notify.DispatcherConfig{
			Pool: pool, Addresses: dir, SMTP: smtp, Webhook: hook,
			Logger: logger.With("component", "notify"), Registerer: reg,
		})
		if err != nil {
			return nil, fmt.Errorf("notification deliveries (EDUSMARTHUB_SMTP_*, EDUSMARTHUB_WEBHOOK_*): %w", err)
		}
		handlers = append(handlers, kafka.NotifyHandler(dispatcher))
	}
	rctx, stop := context.WithCancel(context.WithoutCancel(ctx))
	ls := &liveSagas{Runtime: rt, stop: stop}
	if len(handlers) > 0 {
		router, err := kafka.NewRouterWithConfig(kafka.RouterConfig{Kafka: kcfg, Logger: log, Registerer: reg}, handlers...)
		if err != nil {
			stop()
			return nil, fmt.Errorf("sagas: %w", err)
		}
		ls.wg.Go(func() {
			if err := router.Run(rctx); err != nil && rctx.Err() == nil {
				log.Error("the workflows' Kafka consumers stopped", "err", err)
			}
		})
	}
	ls.wg.Go(func() { _ = rt.RunDeadlines(rctx) }) // returns nil when stopped; it logs its failures
	if dispatcher != nil {
		ls.wg.Go(func() { _ = dispatcher.Run(rctx) })
	}
	names := make([]string, 0, len(rt.Sagas()))
	for _, s := range rt.Sagas() {
		names = append(names, s.Name())
	}
	log.Info("workflows started", "sagas", strings.Join(names, ","), "deliveries", deliveryNames(dispatcher))
	return ls, nil
}

func deliveryNames(d *notify.Dispatcher) string {
	if d == nil {
		return "in-app only"
	}
	return strings.Join(d.Channels(), ",")
}

// Stop stops consuming and the loops, and waits for the handlings in
// progress to commit or roll back.
func (ls *liveSagas) Stop() {
	ls.stop()
	ls.wg.Wait()
}
