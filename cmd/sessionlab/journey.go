package main

import (
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/sessionlab/sessionlab/cmd/internal/har"
)

func newJourneyCmd() *cobra.Command {
	var from string
	cmd := &cobra.Command{
		Use:   "journey --from-har FILE.har",
		Short: "Draft a scenario's journey: section from a browser's recording (HAR) of a login and a few pages of your app",
		Long: "Read a HAR 1.2 file — what a browser's devtools export from the network panel (tick \"Preserve log\", log in, " +
			"open a few pages, export with sensitive data: a sanitized export has no cookies) — and print the journey: " +
			"section it suggests, with app.session_cookie, for you to review: the login form's path and where it posts, its " +
			"fields (the typed user name {{.User}}, the password {{.Password}}, hidden fields left for the journey to read " +
			"from the form), a sign-up before it, the page the login ends on, the pages opened after it, and the logged-out " +
			"answers seen. Comments say where each key came from; # REVIEW: marks what the recording could not decide. " +
			"No password from the recording is printed: set journey.users.password. \"-\" reads stdin.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if from == "" {
				return errors.New("--from-har FILE is required: the HAR file your browser's devtools exported")
			}
			var r io.Reader = cmd.InOrStdin()
			if from != "-" {
				f, err := os.Open(from)
				if err != nil {
					return err
				}
				defer f.Close()
				r = f
			}
			h, err := har.Read(r)
			if err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			d, err := har.FromHAR(h)
			if err != nil {
				return fmt.Errorf("%s: %w", from, err)
			}
			if err := d.WriteYAML(cmd.OutOrStdout(), from); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "sessionlab: %d thing(s) to review (the # REVIEW: comments), and journey.users.password to set\n", d.Undecided())
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from-har", "", "the HAR file to read (\"-\": stdin)")
	return cmd
}
