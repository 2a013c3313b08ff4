// No latest: every file is linted. The first leaves tasks with its
// trigger (created two statements after the table); the second disables it.
env "test" {}
