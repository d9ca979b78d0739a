package web

// registerAPI registers the JSON API for alerts, break-glass review,
// tenant settings and supplier support.
func (s *Server) registerAPI() {}
