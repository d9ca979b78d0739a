package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/havencare/haven"
	"github.com/havencare/haven/audit"
	"github.com/havencare/haven/store"
)

// maxBatch bounds how many units of work share one commit. Larger batches
// amortise the commit's fsync further but make each caller wait longer.
const maxBatch = 128

// DB is a store.Store over database/sql.
type DB struct {
	db *sql.DB
	d  *Dialect
	q  queries

	writes pool  // the committers' connections
	reads  *pool // View's connections: &writes unless a reader was given

	cache readCache // what views read, valid while the tenant's epoch holds

	committers []chan *job
	wg         sync.WaitGroup
	closeOnce  sync.Once
	closed     chan struct{}
}

// job is one caller's unit of work waiting for a batch.
type job struct {
	ctx    context.Context
	tenant string
	fn     func(store.Tx) error
	done   chan error
	// bare jobs (Record) run without a savepoint of their own; see runBatch.
	bare bool
}

// pool is one *sql.DB with the statements prepared on it. A statement
// belongs to the database it was prepared on, so each pool keeps its own.
type pool struct {
	db        *sql.DB
	stmts     sync.Map // query text -> *sql.Stmt
	preparing sync.Map // query text -> true while it is being prepared
}

// Open migrates db to the newest schema and starts the committers. View
// uses read-only transactions on db.
func Open(ctx context.Context, db *sql.DB, d *Dialect) (*DB, error) {
	return OpenWithReader(ctx, db, nil, d)
}

// OpenWithReader is Open with a separate pool for View, opened on the same
// database so that it refuses writes (SQLite's query_only). Nil means db.
// The store closes reader with db.
func OpenWithReader(ctx context.Context, db, reader *sql.DB, d *Dialect) (*DB, error) {
	s := &DB{db: db, d: d, q: prepareQueries(d), closed: make(chan struct{})}
	s.writes.db = db
	s.reads = &s.writes
	if reader != nil {
		s.reads = &pool{db: reader}
	}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	n := max(d.Committers, 1)
	for i := 0; i < n; i++ {
		ch := make(chan *job, maxBatch)
		s.committers = append(s.committers, ch)
		s.wg.Add(1)
		c := &committer{s: s, edges: map[string]*treeEdge{}}
		go c.loop(ch)
	}
	return s, nil
}

// statement returns q prepared on the pool if it is, and otherwise asks
// for it to be prepared in the background and reports false. It never
// waits for a connection: a transaction that holds one of the pool's
// connections and waited for another to prepare on would deadlock once
// every connection was held that way (a burst of first reads after
// start-up did exactly that).
func (p *pool) statement(q string) (*sql.Stmt, bool) {
	if st, ok := p.stmts.Load(q); ok {
		return st.(*sql.Stmt), true
	}
	if _, busy := p.preparing.LoadOrStore(q, true); !busy {
		go func() {
			defer p.preparing.Delete(q)
			st, err := p.db.PrepareContext(context.Background(), q)
			if err != nil {
				return // the next use tries again
			}
			if _, loaded := p.stmts.LoadOrStore(q, st); loaded {
				st.Close()
			}
		}()
	}
	return nil, false
}

func (p *pool) close() error {
	p.stmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
	return p.db.Close()
}

// SQL returns the underlying database for tests that attack it directly.
func (s *DB) SQL() *sql.DB { return s.db }

// Dialect returns the store's dialect.
func (s *DB) Dialect() *Dialect { return s.d }

func (s *DB) migrate(ctx context.Context) error {
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_us BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	for v, m := range s.d.Migrations {
		tx, err := s.db.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, s.d.Rebind(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), v+1).Scan(&n); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate: %w", err)
		}
		if n > 0 {
			tx.Rollback()
			continue
		}
		if _, err := tx.ExecContext(ctx, m); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if _, err := tx.ExecContext(ctx, s.d.Rebind(`INSERT INTO schema_migrations (version, applied_us) VALUES (?, ?)`), v+1, time.Now().UnixMicro()); err != nil {
			tx.Rollback()
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("migrate to schema version %d: %w", v+1, err)
		}
	}
	return nil
}

// SchemaVersion reports the newest applied migration.
func (s *DB) SchemaVersion(ctx context.Context) (int, error) {
	var v sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MAX(version) FROM schema_migrations`).Scan(&v)
	return int(v.Int64), err
}

// CreateTenant implements store.Store.
func (s *DB) CreateTenant(ctx context.Context, t haven.Tenant, keys store.TenantKeys) error {
	if t.ID == "" {
		return store.ErrNoScope
	}
	// A random first epoch: nothing read of an earlier tenant of the same
	// id, by any process, can pass for this one's (see readCache).
	epoch := rand.Int64N(1 << 62)
	_, err := s.db.ExecContext(ctx, s.q.createTenant, t.ID, t.Name, t.ODSCode, t.Created.UnixMicro(), keys.Data, keys.Index, epoch)
	if err != nil {
		if s.d.IsUniqueViolation(err) {
			return fmt.Errorf("create tenant %s: %w", t.ID, haven.ErrConflict)
		}
		return fmt.Errorf("create tenant %s: %w", t.ID, err)
	}
	return nil
}

// Tenants implements store.Store.
func (s *DB) Tenants(ctx context.Context) ([]haven.Tenant, error) {
	rows, err := s.db.QueryContext(ctx, s.q.tenants)
	if err != nil {
		return nil, fmt.Errorf("list tenants: %w", err)
	}
	defer rows.Close()
	var out []haven.Tenant
	for rows.Next() {
		var t haven.Tenant
		var us int64
		if err := rows.Scan(&t.ID, &t.Name, &t.ODSCode, &us); err != nil {
			return nil, fmt.Errorf("list tenants: %w", err)
		}
		t.Created = time.UnixMicro(us).UTC()
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTenant implements store.Store.
func (s *DB) DeleteTenant(ctx context.Context, tenantID string) error {
	if tenantID == "" {
		return store.ErrNoScope
	}
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("delete tenant: %w", err)
	}
	defer tx.Rollback()
	if s.d.EnterTenant != nil {
		if err := s.d.EnterTenant(ctx, tx, tenantID); err != nil {
			return fmt.Errorf("delete tenant: %w", err)
		}
	}
	defer s.cache.forget(tenantID)
	for _, q := range s.q.deleteTenant {
		if _, err := tx.ExecContext(ctx, q, tenantID); err != nil {
			return fmt.Errorf("delete tenant: %w", err)
		}
	}
	return tx.Commit()
}

// Update implements store.Store. The work is queued for the committer that
// owns the tenant and runs inside a savepoint of a shared transaction.
func (s *DB) Update(ctx context.Context, sc haven.Scope, fn func(store.Tx) error) error {
	return s.enqueue(ctx, sc, fn, false)
}

// Record implements store.Store: Update for work that only adds (audit
// entries, alerts), run without the savepoint that sets each unit of work
// apart. A savepoint and its release were two of the seven statements the
// single writer ran for each read's audit entry. If such work fails, the
// batch it was in is rolled back and run again without it (runBatch).
func (s *DB) Record(ctx context.Context, sc haven.Scope, fn func(store.Tx) error) error {
	return s.enqueue(ctx, sc, fn, true)
}

func (s *DB) enqueue(ctx context.Context, sc haven.Scope, fn func(store.Tx) error, bare bool) error {
	if !sc.Valid() {
		return store.ErrNoScope
	}
	if !textArgs([]any{sc.Tenant()}) {
		return errNoSuchTenant // a tenant id that is not text names no tenant
	}
	// What this write changes, the caller's later reads must see.
	store.EndSharedReads(ctx)
	j := &job{ctx: ctx, tenant: sc.Tenant(), fn: fn, done: make(chan error, 1), bare: bare}
	ch := s.committers[committerFor(sc.Tenant(), len(s.committers))]
	select {
	case <-s.closed:
		return errors.New("store closed")
	case ch <- j:
	case <-ctx.Done():
		return ctx.Err()
	}
	// Once queued, wait for the outcome whatever the context says: the
	// caller must not act as if the work did not happen if it did.
	return <-j.done
}

// errNoSuchTenant answers a scope whose tenant id is not text (textArgs).
var errNoSuchTenant = fmt.Errorf("tenant: %w", haven.ErrNotFound)

func committerFor(tenant string, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	h.Write([]byte(tenant))
	return int(h.Sum32() % uint32(n))
}

// committer is one committing goroutine's state: the right edges of the
// audit trees of the tenants it has committed entries for (auditWriter).
// Only its goroutine touches it.
type committer struct {
	s     *DB
	edges map[string]*treeEdge
}

// loop gathers queued jobs into batches and commits each batch once.
func (c *committer) loop(ch chan *job) {
	defer c.s.wg.Done()
	batch := make([]*job, 0, maxBatch)
	for {
		var first *job
		select {
		case first = <-ch:
		case <-c.s.closed:
			// Drain what was queued before Close.
			for {
				select {
				case j := <-ch:
					c.runBatch([]*job{j})
				default:
					return
				}
			}
		}
		batch = append(batch[:0], first)
	fill:
		for len(batch) < maxBatch {
			select {
			case j := <-ch:
				batch = append(batch, j)
			default:
				break fill
			}
		}
		c.runBatch(batch)
	}
}

// runBatch runs a batch's jobs in one transaction, then commits once.
//
// Jobs that write (Update) run first, each in its own savepoint with its
// audit entries written at its end: one whose work fails is rolled back to
// its savepoint alone. Bare jobs (Record) run after them without
// savepoints, and their audit entries are written together at the end. If
// a bare job fails, or writing their entries does, the transaction is
// rolled back, and the batch runs again with every job in a savepoint of
// its own (a failing bare job gets its error and is not run again). If
// the commit fails, every job in the batch fails (nothing was kept,
// nothing is released: fail closed).
func (c *committer) runBatch(batch []*job) {
	s := c.s
	slices.SortStableFunc(batch, func(a, b *job) int {
		switch {
		case a.bare == b.bare:
			return 0
		case b.bare:
			return -1
		}
		return 1
	})
	results := make([]error, len(batch))
	ctx := context.Background()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		for _, j := range batch {
			j.done <- fmt.Errorf("begin transaction: %w", err)
		}
		return
	}
	w := newAuditWriter(c.edges)
	rerun := func(failed *job) {
		tx.Rollback()
		rest := make([]*job, 0, len(batch))
		for _, o := range batch {
			if o != failed {
				o.bare = false
				rest = append(rest, o)
			}
		}
		if len(rest) > 0 {
			c.runBatch(rest)
		}
	}
	anyOK := false
	for i, j := range batch {
		if err := j.ctx.Err(); err != nil {
			results[i] = err
			continue
		}
		if j.bare {
			if err := s.runBare(ctx, tx, w, j); err != nil {
				j.done <- err
				rerun(j)
				return
			}
			anyOK = true
			continue
		}
		results[i] = s.runJob(ctx, tx, w, j)
		if results[i] == nil {
			anyOK = true
		}
	}
	for _, tenant := range w.tenants() {
		if err := s.writeAudit(ctx, tx, w, tenant); err != nil {
			if !slices.ContainsFunc(batch, func(j *job) bool { return j.bare }) {
				// Every job wrote its own entries already, so none
				// should be waiting: fail closed rather than run the
				// batch again in the same way.
				tx.Rollback()
				for _, j := range batch {
					j.done <- err
				}
				return
			}
			rerun(nil)
			return
		}
	}
	if !anyOK {
		tx.Rollback()
	} else if err := tx.Commit(); err != nil {
		w.committedAs(false)
		for i := range results {
			if results[i] == nil {
				results[i] = fmt.Errorf("commit: %w: %w", haven.ErrAuditUnavailable, err)
			}
		}
	} else {
		w.committedAs(true)
	}
	for i, j := range batch {
		j.done <- results[i]
	}
	// Let the callers just answered run before the next batch. Woken by
	// this goroutine, they wait on its processor's queue, and without the
	// yield they would wait through the next batch's work until its
	// commit blocks in fsync: about 1 ms a read on two cores, for callers
	// that then answer in a fraction of that. The committer waits its
	// turn instead, and the next batch is the larger for it: 5–27% more
	// reads a second, creates unchanged (docs/benchmarks.md).
	runtime.Gosched()
}

// writeAudit writes the audit entries a batch's bare jobs left waiting for
// tenant, entering the tenant as their jobs did.
func (s *DB) writeAudit(ctx context.Context, tx *sql.Tx, w *auditWriter, tenant string) error {
	if s.d.EnterTenant != nil {
		if err := s.d.EnterTenant(ctx, tx, tenant); err != nil {
			return fmt.Errorf("enter tenant: %w", err)
		}
	}
	return w.flush(&txn{ctx: ctx, live: ctx, tx: tx, s: s, pool: &s.writes, tenant: tenant})
}

func (s *DB) runJob(ctx context.Context, tx *sql.Tx, w *auditWriter, j *job) (err error) {
	if err := s.execIn(ctx, tx, "SAVEPOINT job"); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	mark := w.mark()
	defer func() {
		if err != nil {
			if rbErr := s.execIn(ctx, tx, "ROLLBACK TO SAVEPOINT job"); rbErr != nil {
				err = errors.Join(err, rbErr)
			}
			w.rollback(mark)
		}
		if relErr := s.execIn(ctx, tx, "RELEASE SAVEPOINT job"); relErr != nil && err == nil {
			err = fmt.Errorf("release savepoint: %w", relErr)
		}
	}()
	return s.runBare(ctx, tx, w, j)
}

// runBare runs a job's work directly in the batch's transaction, in the
// job's tenant; a panic in the work is its error. runJob wraps it in a
// savepoint; a bare job (Record) runs it as it is. A job in a savepoint
// writes its audit entries before it ends; a bare job leaves them for
// runBatch to write with the others.
func (s *DB) runBare(ctx context.Context, tx *sql.Tx, w *auditWriter, j *job) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("unit of work panicked: %v", r)
		}
	}()
	if s.d.EnterTenant != nil {
		if err := s.d.EnterTenant(ctx, tx, j.tenant); err != nil {
			return fmt.Errorf("enter tenant: %w", err)
		}
	}
	t := &txn{ctx: quiet(j.ctx), live: j.ctx, tx: tx, s: s, pool: &s.writes, tenant: j.tenant, log: w}
	if err := j.fn(t); err != nil {
		return err
	}
	if !j.bare {
		return t.writeAudit()
	}
	return nil
}

// execIn runs one of the committer's own statements (the savepoints around
// each job), prepared once like the units' statements: parsing them again
// for every job was a noticeable share of the single writer's time.
func (s *DB) execIn(ctx context.Context, tx *sql.Tx, q string) error {
	t := txn{ctx: ctx, live: ctx, tx: tx, s: s, pool: &s.writes}
	_, err := t.exec(q)
	return err
}

// View implements store.Store: a read-only transaction of its own, on the
// reader pool, entering the tenant as a unit of work does; or, under
// store.ShareReads, the request's shared one. Sharing needs a reader pool
// apart from the committers' connections: a request holds its shared
// transaction until its first Update, and on one pool, requests holding
// every connection that way would leave none for the committers.
func (s *DB) View(ctx context.Context, sc haven.Scope, fn func(store.Tx) error) error {
	if !sc.Valid() {
		return store.ErrNoScope
	}
	if !textArgs([]any{sc.Tenant()}) {
		return errNoSuchTenant
	}
	select {
	case <-s.closed:
		return errors.New("store closed")
	default:
	}
	tenant := sc.Tenant()
	if sh := store.SharedReadsIn(ctx); sh != nil && s.SharesReads() {
		used, err := sh.Use(
			func() (any, func(), error) { return s.beginView(ctx, tenant) },
			func(held any) bool { t := held.(*txn); return t.s == s && t.tenant == tenant },
			func(held any) error { return runView(held.(*txn), fn) })
		if used {
			return err
		}
	}
	t, end, err := s.beginView(ctx, tenant)
	if err != nil {
		return err
	}
	defer end()
	return runView(t, fn)
}

// SharesReads reports whether Views under store.ShareReads share one
// transaction: only with a reader pool of their own (see View).
func (s *DB) SharesReads() bool { return s.reads != &s.writes }

// beginView begins a read-only transaction in tenant; end closes it.
func (s *DB) beginView(ctx context.Context, tenant string) (t *txn, end func(), err error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	live := ctx
	ctx = quiet(ctx)
	tx, err := s.reads.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, fmt.Errorf("begin read-only transaction: %w", err)
	}
	if s.d.EnterTenant != nil {
		if err := s.d.EnterTenant(ctx, tx, tenant); err != nil {
			tx.Rollback()
			return nil, nil, fmt.Errorf("enter tenant: %w", err)
		}
	}
	// A view writes nothing, so ending it by rollback loses nothing, and
	// a write that slipped in (refused anyway) is never kept.
	return &txn{ctx: ctx, live: live, tx: tx, s: s, pool: s.reads, tenant: tenant, view: true}, func() { tx.Rollback() }, nil
}

func runView(t *txn, fn func(store.Tx) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("read-only unit of work panicked: %v", r)
		}
	}()
	return fn(t)
}

// Close implements store.Store.
func (s *DB) Close() error {
	s.closeOnce.Do(func() { close(s.closed) })
	s.wg.Wait()
	var err error
	if s.reads != &s.writes {
		err = s.reads.close()
	}
	return errors.Join(err, s.writes.close())
}

// AuditSource implements store.Store.
func (s *DB) AuditSource() audit.Source { return &auditSource{s: s} }
