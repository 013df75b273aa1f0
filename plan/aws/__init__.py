"""The AWS targets' planners (aws-hosts, aws-lambda): :mod:`plan.aws.fleet` (network slots, names,
each role's settings and environment), :mod:`plan.aws.cloud_init` (a host's user data) and
:mod:`plan.aws.canary` (the canary function and its alarms). Pure: no Pulumi, no cloud SDK, no I/O."""
