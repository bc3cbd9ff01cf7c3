-- mvtop demo write load: one tick of a packit-like CI service.
-- Sent as ONE simple-query batch (an implicit transaction) every ~500 ms on a
-- dedicated connection. Safe to repeat forever: ids come from the identity
-- sequences, the only natural keys use ON CONFLICT DO NOTHING, and every
-- statement touches a handful of rows through an index (well under 5 ms).
-- Uses random() on purpose: the load is live, only schema.sql is deterministic.

-- 1. Now and then (5 % of ticks) a new pull request, with its job trigger,
--    on a project picked with a bias towards the busy ones.
WITH p AS (
    SELECT 1 + floor(power(random(), 3) * (SELECT max(id) FROM ci.git_projects))::int AS project_id
    WHERE random() < 0.05
), pr AS (
    INSERT INTO ci.pull_requests (pr_id, project_id)
    SELECT coalesce((SELECT max(pr_id) FROM ci.pull_requests WHERE project_id = p.project_id), 0) + 1,
           p.project_id
    FROM p
    ON CONFLICT (project_id, pr_id) DO NOTHING
    RETURNING id
)
INSERT INTO ci.job_triggers (type, trigger_id)
SELECT 'pull_request', id FROM pr
ON CONFLICT (type, trigger_id) DO NOTHING;

-- 2. Every tick: a push to a recently active PR -> a pipeline with a copr
--    build group and 1..5 pending chroot builds.
WITH lo AS MATERIALIZED (
    SELECT (SELECT max(id) FROM ci.job_triggers) - (random() * 2000)::int AS id
), jt AS (
    SELECT id FROM ci.job_triggers
    WHERE type = 'pull_request' AND id >= (SELECT id FROM lo)
    ORDER BY id
    LIMIT 1
), grp AS (
    INSERT INTO ci.copr_build_groups (submitted_time)
    SELECT localtimestamp FROM jt
    RETURNING id, submitted_time
), pl AS (
    INSERT INTO ci.pipelines (datetime, job_trigger_id, copr_build_group_id)
    SELECT localtimestamp, jt.id, grp.id FROM jt, grp
    RETURNING id
)
INSERT INTO ci.copr_build_targets (build_id, commit_sha, status, target, project_name,
                                   build_submitted_time, copr_build_group_id)
SELECT (6000000 + grp.id)::text,
       md5(grp.id::text) || lpad(to_hex(hashint4(grp.id)), 8, '0'),
       'pending',
       (ARRAY['fedora-rawhide-x86_64', 'fedora-41-x86_64', 'fedora-40-x86_64',
              'fedora-rawhide-aarch64', 'fedora-41-aarch64', 'epel-9-x86_64',
              'centos-stream-9-x86_64', 'centos-stream-10-x86_64', 'epel-8-x86_64',
              'fedora-rawhide-ppc64le', 'fedora-rawhide-s390x', 'opensuse-tumbleweed-x86_64'])
           [1 + (grp.id + k * 5) % 12],
       'packit-build-' || grp.id,
       grp.submitted_time,
       grp.id
FROM grp, generate_series(1, 1 + (random() * 4)::int) AS k;

-- 3. The build worker: finish a few running builds, then start a few pending
--    ones (oldest first; the partial index on unfinished builds keeps it cheap).
UPDATE ci.copr_build_targets AS t
SET status = CASE WHEN r.x < 0.78 THEN 'success' WHEN r.x < 0.95 THEN 'failure' ELSE 'error' END,
    build_finished_time = localtimestamp
FROM (
    SELECT id, random() AS x FROM ci.copr_build_targets
    WHERE status = 'running' AND build_start_time < localtimestamp - interval '2 seconds'
    ORDER BY id
    LIMIT 4
) AS r
WHERE t.id = r.id;

UPDATE ci.copr_build_targets
SET status = 'running', build_start_time = localtimestamp
WHERE id IN (
    SELECT id FROM ci.copr_build_targets
    WHERE status = 'pending'
    ORDER BY id
    LIMIT 4
);

-- 4. Sometimes (20 % of ticks) a testing-farm run for a recent PR pipeline.
WITH jt AS (
    SELECT job_trigger_id AS id FROM ci.pipelines
    WHERE id = (SELECT max(id) FROM ci.pipelines) AND random() < 0.2
), grp AS (
    INSERT INTO ci.tft_test_run_groups (submitted_time)
    SELECT localtimestamp FROM jt
    RETURNING id, submitted_time
), pl AS (
    INSERT INTO ci.pipelines (datetime, job_trigger_id, test_run_group_id)
    SELECT localtimestamp, jt.id, grp.id FROM jt, grp
    RETURNING id
)
INSERT INTO ci.tft_test_run_targets (pipeline_id, commit_sha, status, target, submitted_time,
                                     tft_test_run_group_id)
SELECT 'tf-' || lpad(to_hex(hashint4(grp.id)), 8, '0') || '-' || grp.id,
       md5('t' || grp.id) || lpad(to_hex(hashint4(grp.id)), 8, '0'),
       CASE WHEN random() < 0.8 THEN 'passed' ELSE 'failed' END,
       'fedora-rawhide-x86_64',
       grp.submitted_time,
       grp.id
FROM grp;

-- 5. Retention job (25 % of ticks): drop the 12 oldest copr build targets, so
--    on average as many targets leave as arrive and the tables stay the same size.
DELETE FROM ci.copr_build_targets
WHERE id IN (SELECT id FROM ci.copr_build_targets ORDER BY id LIMIT 12)
  AND (SELECT random() < 0.25);
