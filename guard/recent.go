package guard

import (
	"slices"
	"time"
)

// recent is who an account read in the last day, kept so that judging an
// access costs time in proportion to the people it reads, not to everyone
// the account read that day: a system client reading thousands of records
// an hour would otherwise pay for the whole day on every read.
//
// Every read is appended to a queue in time order with a sequence number;
// last names each person's latest read by that number. The counts of people
// whose latest read is within the hour and within the day move only when a
// read leaves one of those windows, as the queue is walked from its front.
type recent struct {
	queue    []read           // reads in order; queue[0] has sequence number base
	base     int64            // sequence number of queue[0]
	next     int64            // sequence number of the next read
	hourFrom int64            // reads numbered from here on are within the hour
	last     map[string]int64 // latest read of each person within the day
	hour     int              // people whose latest read is within the hour
}

type read struct {
	person string
	at     time.Time
}

func newRecent() *recent { return &recent{last: map[string]int64{}} }

// at returns the read with sequence number n.
func (r *recent) at(n int64) read { return r.queue[n-r.base] }

// advance lets the hour and the day slide up to now.
func (r *recent) advance(now time.Time) {
	for r.hourFrom < r.next && now.Sub(r.at(r.hourFrom).at) >= time.Hour {
		if r.last[r.at(r.hourFrom).person] == r.hourFrom {
			r.hour--
		}
		r.hourFrom++
	}
	for r.base < r.next && now.Sub(r.queue[0].at) >= 24*time.Hour {
		if p := r.queue[0].person; r.last[p] == r.base {
			delete(r.last, p)
		}
		r.queue[0] = read{}
		r.queue = r.queue[1:]
		r.base++
	}
}

// withinHour reports whether p's latest read is within the hour.
func (r *recent) withinHour(p string) (read, inHour bool) {
	n, ok := r.last[p]
	return ok, ok && n >= r.hourFrom
}

// distinct counts the people read in the last hour and the last day if
// people were read now as well. The caller has advanced r to now.
func (r *recent) distinct(people []string) (hour, day int) {
	hour, day = r.hour, len(r.last)
	for _, p := range unique(people) {
		read, inHour := r.withinHour(p)
		if !read {
			day++
		}
		if !inHour {
			hour++
		}
	}
	return hour, day
}

// add records that people were read at now. Reads are kept in the order
// they are added; a clock that steps back is taken as not having moved, so
// the queue stays in time order (a read then counts slightly longer, never
// shorter).
func (r *recent) add(now time.Time, people []string) {
	if len(r.queue) > 0 {
		if prev := r.queue[len(r.queue)-1].at; now.Before(prev) {
			now = prev
		}
	}
	for _, p := range unique(people) {
		if _, inHour := r.withinHour(p); !inHour {
			r.hour++
		}
		r.last[p] = r.next
		r.queue = append(r.queue, read{person: p, at: now})
		r.next++
	}
}

func unique(people []string) []string {
	if len(people) < 2 {
		return people
	}
	return slices.Compact(slices.Sorted(slices.Values(people)))
}
