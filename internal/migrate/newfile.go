package migrate

import (
	"fmt"
	"time"

	amigrate "ariga.io/atlas/sql/migrate"
)

// NewFile writes an empty migration file, <version>[_name].sql, into dir
// and rewrites atlas.sum, as the Atlas CLI's `migrate new` does. The
// version is now in UTC (YYYYMMDDHHMMSS), moved past the directory's last
// version when the clock has not passed it (two files in one second). A
// directory that does not match its atlas.sum is refused first. It
// returns the file's name.
func NewFile(dir *amigrate.LocalDir, name string, now time.Time) (string, error) {
	if err := ValidateSum(dir); err != nil {
		return "", err
	}
	version, err := NextVersion(dir, now)
	if err != nil {
		return "", err
	}
	p := &amigrate.Plan{Version: version, Name: name}
	if err := amigrate.NewPlanner(nil, dir, amigrate.PlanFormat(amigrate.DefaultFormatter)).WritePlan(p); err != nil {
		return "", fmt.Errorf("migrate: new: %w", err)
	}
	file := version + ".sql"
	if name != "" {
		file = version + "_" + name + ".sql"
	}
	return file, nil
}

// NextVersion is the version for a new file written at now: the UTC
// timestamp, or one second past the directory's last version when that is
// not older.
func NextVersion(dir amigrate.Dir, now time.Time) (string, error) {
	const layout = "20060102150405"
	v := now.UTC().Format(layout)
	last, err := Head(dir)
	if err != nil {
		return "", err
	}
	if last >= v {
		t, err := time.Parse(layout, last)
		if err != nil {
			return "", fmt.Errorf("migrate: the last version %q is not a timestamp and is not older than %s: name the file by hand", last, v)
		}
		v = t.Add(time.Second).Format(layout)
	}
	return v, nil
}
