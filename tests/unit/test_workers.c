/* The worker pool: jobs run off the loop thread and complete on it; a full queue says so at once. The database
 * URL points nowhere, so workers get db == NULL (the "database unavailable" path) without a server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <event2/thread.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <unistd.h>

#include "server/workers.h"

#define NOWHERE "postgresql:///x?host=/nonexistent-otw-socket-dir&connect_timeout=1"

struct tjob {
	struct worker_job job; /* first: the callbacks cast back */
	atomic_bool ran;
	bool db_null, ran_on_loop, done, done_on_loop, cancelled;
};

static pthread_t loop_thread;
static struct event_base *base;
static sem_t gate;
static bool use_gate;
static int ndone, target;

static void t_run(struct worker_job *j, PGconn *db)
{
	struct tjob *t = (struct tjob *)j;
	t->db_null = db == NULL;
	t->ran_on_loop = pthread_equal(pthread_self(), loop_thread);
	atomic_store(&t->ran, true);
	if (use_gate)
		sem_wait(&gate);
}

static void t_done(struct worker_job *j, bool cancelled)
{
	struct tjob *t = (struct tjob *)j;
	t->done = true;
	t->cancelled = cancelled;
	t->done_on_loop = pthread_equal(pthread_self(), loop_thread);
	if (++ndone == target)
		event_base_loopbreak(base);
}

static void keepalive(evutil_socket_t fd, short what, void *arg) {}

/* Runs the loop until `target` jobs are done (a persistent timer keeps an otherwise idle loop running). */
static void run_loop(void)
{
	struct timeval tv = { 0, 100000 };
	struct event *ka = event_new(base, -1, EV_PERSIST, keepalive, NULL);
	event_add(ka, &tv);
	event_base_dispatch(base);
	event_free(ka);
}

static int setup(void **state)
{
	loop_thread = pthread_self();
	evthread_use_pthreads();
	base = event_base_new();
	return base && sem_init(&gate, 0, 0) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	event_base_free(base);
	sem_destroy(&gate);
	return 0;
}

static void jobs_run_on_workers_and_finish_on_the_loop(void **state)
{
	struct workers *w;
	struct tjob jobs[3] = { 0 };

	assert_int_equal(workers_start(base, NOWHERE, 2, 8, &w), 0);
	ndone = 0;
	target = 3;
	use_gate = false;
	for (int i = 0; i < 3; i++) {
		jobs[i].job.run = t_run;
		jobs[i].job.done = t_done;
		assert_int_equal(workers_submit(w, &jobs[i].job), 0);
	}
	run_loop();
	for (int i = 0; i < 3; i++) {
		assert_true(jobs[i].ran);
		assert_true(jobs[i].db_null);
		assert_false(jobs[i].ran_on_loop);
		assert_true(jobs[i].done && jobs[i].done_on_loop);
		assert_false(jobs[i].cancelled);
	}
	workers_stop(w);
}

static void full_queue_is_refused(void **state)
{
	struct workers *w;
	struct tjob a = { 0 }, b = { 0 }, c = { 0 };

	assert_int_equal(workers_start(base, NOWHERE, 1, 1, &w), 0);
	ndone = 0;
	target = 2;
	use_gate = true;
	a.job.run = b.job.run = c.job.run = t_run;
	a.job.done = b.job.done = c.job.done = t_done;
	assert_int_equal(workers_submit(w, &a.job), 0);
	for (int i = 0; i < 10000 && !atomic_load(&a.ran); i++) /* the only worker takes `a` and blocks */
		usleep(1000);
	assert_true(atomic_load(&a.ran));
	assert_int_equal(workers_submit(w, &b.job), 0);       /* fills the queue of one */
	assert_int_equal(workers_submit(w, &c.job), -EAGAIN); /* refused at once, never touched again */
	sem_post(&gate);
	sem_post(&gate);
	run_loop();
	assert_true(a.done && b.done);
	assert_false(c.done);
	workers_stop(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobs_run_on_workers_and_finish_on_the_loop),
		cmocka_unit_test(full_queue_is_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
