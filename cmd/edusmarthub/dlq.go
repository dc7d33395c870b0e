package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/IBM/sarama"
	"github.com/spf13/cobra"

	"github.com/edusmarthub/edusmarthub/transport/kafka"
)

func (a *app) dlqCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "dlq",
		Short: "See and re-drive the dead letters of the Kafka consumers",
		Long: `A message that a consumer (projection, saga) could not process — undecodable,
of an unknown event type, or failing after its retries — goes to the
dead-letter topic <prefix>.dlq with its error and its origin in dlq_ headers.
These commands read that topic and put dead letters back on their topics.

They talk to EDUSMARTHUB_KAFKA_BROKERS or, when it is empty, to the embedded
broker of a running 'edusmarthub serve' (EDUSMARTHUB_KAFKA_EMBEDDED_ADDR).`,
	}
	cmd.AddCommand(a.dlqListCmd(), a.dlqRedriveCmd())
	return cmd
}

func (a *app) dlqListCmd() *cobra.Command {
	var all, asJSON bool
	cmd := &cobra.Command{
		Use:   "list [--all] [--json]",
		Short: "List the dead letters still to re-drive",
		Long: `List the dead letters, oldest first: where each came from (topic, partition,
offset), the event's type and ID, the handler that gave up and its error.
REF names the dead letter itself (<dlq partition>/<dlq offset>), for messages
without an event ID. It reads the dead-letter topic from its start with a
plain consumer: nothing is committed, listing changes nothing.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kcfg, embedded, err := a.dlqSetup()
			if err != nil {
				return err
			}
			ds, err := kafka.ListDeadLetters(cmd.Context(), kcfg)
			if err != nil {
				return dlqConnectError(kcfg, embedded, err)
			}
			shown := ds
			if !all {
				shown = shown[:0:0]
				for _, d := range ds {
					if !d.Redriven() {
						shown = append(shown, d)
					}
				}
			}
			if asJSON {
				return writeDeadLettersJSON(a.stdout, shown)
			}
			return writeDeadLetters(a.stdout, shown, len(ds)-len(shown), all)
		},
	}
	cmd.Flags().BoolVar(&all, "all", false, "also list the dead letters already re-driven")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print one JSON object per line")
	return cmd
}

func (a *app) dlqRedriveCmd() *cobra.Command {
	var (
		ids    []string
		dryRun bool
	)
	cmd := &cobra.Command{
		Use:   "redrive [--id ID]... [--dry-run]",
		Short: "Re-publish dead letters to the topics they came from",
		Long: `Re-publish dead letters to their original topic with their original key
(so the same partition), value and headers, without the dlq_ ones. Every
consumer group of the topic receives the event again: consumers are
idempotent, so those that had handled it see a duplicate and ignore it.

Without --id, every pending dead letter; with --id (repeatable, or comma-
separated), those whose event ID or REF is given. An event dead-lettered by
several handlers is re-published once.

Each re-driven dead letter gets a marker on the dead-letter topic, so a second
redrive skips it and 'dlq list' stops showing it. Delivery is at least once:
if the command dies between a re-publish and its marker, the next redrive
re-publishes that one again.`,
		Example: `  edusmarthub dlq redrive --dry-run
  edusmarthub dlq redrive --id 0b1d9c2e-4f57-4a8e-9d0c-2f6b3e8a1c45
  edusmarthub dlq redrive`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			kcfg, embedded, err := a.dlqSetup()
			if err != nil {
				return err
			}
			res, err := kafka.RedriveDeadLetters(cmd.Context(), kcfg, kafka.RedriveOptions{IDs: ids, DryRun: dryRun})
			if err != nil {
				// Report what was done before the failure.
				if len(res.Redriven) > 0 {
					writeRedrive(a.stdout, res, dryRun)
				}
				return dlqConnectError(kcfg, embedded, err)
			}
			writeRedrive(a.stdout, res, dryRun)
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&ids, "id", nil, "event ID or dead-letter REF to re-drive (repeatable)")
	cmd.Flags().BoolVar(&dryRun, "dry-run", false, "show what would be re-driven, publish nothing")
	return cmd
}

// dlqSetup loads the configuration and returns the Kafka settings the dlq
// commands use, and whether they point at serve's embedded broker.
func (a *app) dlqSetup() (kafka.Config, bool, error) {
	cfg, _, err := a.setup()
	if err != nil {
		return kafka.Config{}, false, err
	}
	kcfg := kafkaConfig(cfg)
	return kcfg, cfg.KafkaEmbedded(), kcfg.WithDefaults().Validate()
}

// dlqConnectError explains a failure to reach the embedded broker: the
// usual cause is that no serve is running.
func dlqConnectError(kcfg kafka.Config, embedded bool, err error) error {
	if embedded && !errors.Is(err, context.Canceled) && errors.Is(err, sarama.ErrOutOfBrokers) {
		return fmt.Errorf("%w\n(EDUSMARTHUB_KAFKA_BROKERS is empty, so this talks to the embedded broker of a running `edusmarthub serve` on %s: is one running?)", err, kcfg.Brokers[0])
	}
	return err
}

func writeDeadLetters(w io.Writer, ds []kafka.DeadLetter, hidden int, all bool) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(ds) > 0 {
		cols := "REF\tTOPIC\tPARTITION\tOFFSET\tTYPE\tID\tHANDLER\tATTEMPTS\tTIME\tERROR"
		if all {
			cols += "\tREDRIVEN TO"
		}
		fmt.Fprintln(tw, cols)
	}
	for _, d := range ds {
		line := strings.Join([]string{
			d.Ref, dash(d.Topic), orDash(int64(d.Partition)), orDash(d.Offset),
			dash(strings.TrimPrefix(d.EventType, kafka.TypePrefix)), dash(d.EventID), dash(d.Handler),
			strconv.Itoa(d.Attempts), d.Time.UTC().Format(time.RFC3339), dash(oneLine(d.Error)),
		}, "\t")
		if all {
			line += "\t" + dash(d.RedrivenTo)
		}
		fmt.Fprintln(tw, line)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	switch {
	case len(ds) == 0 && hidden == 0:
		_, err := fmt.Fprintln(w, "no dead letters")
		return err
	case hidden > 0:
		_, err := fmt.Fprintf(w, "%d pending; %d already re-driven not shown (--all shows them)\n", len(ds), hidden)
		return err
	}
	return nil
}

// deadLetterJSON is a dead letter as `dlq list --json` prints it.
type deadLetterJSON struct {
	Ref        string    `json:"ref"`
	Topic      string    `json:"topic"`
	Partition  int32     `json:"partition"`
	Offset     int64     `json:"offset"`
	Type       string    `json:"type,omitempty"`
	ID         string    `json:"id,omitempty"`
	Handler    string    `json:"handler,omitempty"`
	Attempts   int       `json:"attempts"`
	Time       time.Time `json:"time"`
	Error      string    `json:"error"`
	Key        string    `json:"key,omitempty"`
	RedrivenTo string    `json:"redrivenTo,omitempty"`
}

func writeDeadLettersJSON(w io.Writer, ds []kafka.DeadLetter) error {
	enc := json.NewEncoder(w)
	for _, d := range ds {
		if err := enc.Encode(deadLetterJSON{
			Ref: d.Ref, Topic: d.Topic, Partition: d.Partition, Offset: d.Offset,
			Type: strings.TrimPrefix(d.EventType, kafka.TypePrefix), ID: d.EventID, Handler: d.Handler,
			Attempts: d.Attempts, Time: d.Time, Error: d.Error, Key: string(d.Key), RedrivenTo: d.RedrivenTo,
		}); err != nil {
			return err
		}
	}
	return nil
}

func writeRedrive(w io.Writer, res kafka.RedriveResult, dryRun bool) {
	for _, r := range res.Redriven {
		id := dash(r.EventID)
		switch {
		case dryRun:
			fmt.Fprintf(w, "would re-drive %s (event %s) to %s\n", r.Ref, id, r.Target)
		case r.Same != "":
			fmt.Fprintf(w, "re-drove %s (event %s) with %s\n", r.Ref, id, r.Same)
		default:
			fmt.Fprintf(w, "re-drove %s (event %s) to %s\n", r.Ref, id, r.To)
		}
	}
	for _, d := range res.Skipped {
		fmt.Fprintf(w, "skipped %s (event %s): already re-driven to %s\n", d.Ref, dash(d.EventID), d.RedrivenTo)
	}
	verb := "re-driven"
	if dryRun {
		verb = "to re-drive"
	}
	noun := "dead letters"
	if len(res.Redriven) == 1 {
		noun = "dead letter"
	}
	fmt.Fprintf(w, "%d %s %s, %d skipped\n", len(res.Redriven), noun, verb, len(res.Skipped))
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// orDash prints an unknown (negative) partition or offset as "-".
func orDash(n int64) string {
	if n < 0 {
		return "-"
	}
	return strconv.FormatInt(n, 10)
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
