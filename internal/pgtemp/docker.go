package pgtemp

import (
	"context"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// DockerAvailable reports whether a Docker engine answers.
func DockerAvailable(ctx context.Context) bool {
	if _, err := exec.LookPath("docker"); err != nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}").Run() == nil
}

// StartDocker runs postgres:<major> the way the Atlas CLI's docker://
// driver does (POSTGRES_PASSWORD=pass, database dev, a free loopback
// port); Stop removes the container.
func StartDocker(ctx context.Context, major string) (*Server, error) {
	out, err := exec.CommandContext(ctx, "docker", "run", "--rm", "--detach",
		"-e", "POSTGRES_PASSWORD=pass", "-e", "POSTGRES_DB=dev",
		"-p", "127.0.0.1::5432", "postgres:"+major).Output()
	if err != nil {
		return nil, fmt.Errorf("pgtemp: docker run postgres:%s: %w", major, err)
	}
	id := strings.TrimSpace(string(out))
	kill := func() error { return exec.Command("docker", "kill", id).Run() }
	port, err := exec.CommandContext(ctx, "docker", "port", id, "5432/tcp").Output()
	if err != nil {
		kill()
		return nil, fmt.Errorf("pgtemp: docker port: %w", err)
	}
	hostPort := strings.TrimSpace(strings.Split(string(port), "\n")[0])
	s := &Server{
		admin: "postgres://postgres:pass@" + hostPort + "/dev?sslmode=disable",
		halt:  kill,
		dbs:   newDatabases(),
	}
	deadline := time.Now().Add(60 * time.Second)
	for ping(ctx, s.admin) != nil {
		if time.Now().After(deadline) || ctx.Err() != nil {
			kill()
			return nil, fmt.Errorf("pgtemp: container postgres:%s did not become ready", major)
		}
		time.Sleep(200 * time.Millisecond)
	}
	return s, nil
}
