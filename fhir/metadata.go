package fhir

import (
	"net/http"
	"slices"
	"strings"

	"github.com/havencare/haven/auth/smart"
)

// Metadata answers GET /fhir/metadata: a CapabilityStatement that lists
// exactly what this version serves, and how to get a token. It needs no
// token: clients read it to find out how to authenticate.
func (s *Server) Metadata(w http.ResponseWriter, r *http.Request) {
	if !acceptable(w, r) {
		return
	}
	cs := map[string]any{
		"resourceType": "CapabilityStatement",
		"status":       "active",
		"date":         "2026-11-29",
		"kind":         "instance",
		"software":     map[string]string{"name": "Haven"},
		"implementation": map[string]string{
			"description": "Haven health and social-care record service",
			"url":         s.origin + "/fhir",
		},
		"fhirVersion": "4.0.1",
		"format":      []string{ContentType},
		"rest": []map[string]any{{
			"mode": "server",
			"security": map[string]any{
				"service": []map[string]any{{
					"coding": []map[string]string{{"system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}},
				}},
				"description": "SMART Backend Services: client_credentials with a private_key_jwt assertion (RS384 or ES384); system/ scopes. Staff apps: SMART App Launch (standalone), authorization_code with PKCE S256, public clients, user/ scopes; the token acts as the member of staff who approved it.",
				"extension": append([]map[string]any{{
					"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/oauth-uris",
					"extension": []map[string]string{
						{"url": "token", "valueUri": s.origin + smart.TokenPath},
						{"url": "authorize", "valueUri": s.origin + smart.AuthorizePath},
					},
				}}, smartCapabilities(s.origin)...),
			},
			"resource":    capabilityResources(),
			"interaction": []interaction{{"transaction"}, {"batch"}},
			"operation": []map[string]string{
				{"name": "export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export"},
				{"name": "patient-export", "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export"},
				{"name": "everything", "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
					"documentation": "Supports _type and _since; start, end and _count are not supported (one page), and are reported as any unsupported parameter is: refused under Prefer: handling=strict, otherwise named in an outcome entry."},
			},
		}},
	}
	writeResource(w, http.StatusOK, cs)
}

// smartCapabilities are the SMART capabilities the well-known document
// lists, as the capabilities extension of the CapabilityStatement (one
// source, so the two cannot disagree).
func smartCapabilities(origin string) []map[string]any {
	var out []map[string]any
	for _, c := range smart.NewConfiguration(origin).Capabilities {
		out = append(out, map[string]any{"url": "http://fhir-registry.smarthealthit.org/StructureDefinition/capabilities", "valueCode": c})
	}
	return out
}

type param struct {
	Name          string `json:"name"`
	Type          string `json:"type"`
	Documentation string `json:"documentation,omitempty"`
}

type interaction struct {
	Code string `json:"code"`
}

type capability struct {
	Type              string        `json:"type"`
	Profile           string        `json:"profile,omitempty"`
	Documentation     string        `json:"documentation,omitempty"`
	Interaction       []interaction `json:"interaction"`
	Versioning        string        `json:"versioning"`
	ReadHistory       bool          `json:"readHistory"`
	UpdateCreate      bool          `json:"updateCreate"`
	ConditionalCreate bool          `json:"conditionalCreate"`
	ConditionalDelete string        `json:"conditionalDelete"`
	SearchInclude     []string      `json:"searchInclude,omitempty"`
	SearchParam       []param       `json:"searchParam"`
}

// paramDocs describes each search parameter as Haven answers it.
var paramDocs = map[string]param{
	"_id":          {"_id", "token", "the resource's id"},
	"_count":       {"_count", "number", "results per page (at most 100); next links page on"},
	"_lastUpdated": {"_lastUpdated", "date", "eq, gt, ge, lt, le"},
	"_include":     {"_include", "special", "the patient of the matches (Type:patient or Type:subject)"},
	"_cursor":      {"_cursor", "string", "paging position, as the next link gives it"},
	"identifier":   {"identifier", "token", "exact system|value, through a blind index"},
	"family":       {"family", "string", "exact match (case and spacing ignored), through a blind index"},
	"given":        {"given", "string", "one given name, exact match, through a blind index"},
	"name":         {"name", "string", "a family or given name, exact match, through a blind index"},
	"birthdate":    {"birthdate", "date", "exact date"},
	"phone":        {"phone", "token", "exact number"},
	"patient":      {"patient", "reference", "the patient the resource is about"},
	"subject":      {"subject", "reference", "the patient the resource is about"},
	"date":         {"date", "date", "the resource's clinical date: eq, gt, ge, lt, le"},
}

// orgTypeDocs says why the organisation's types are read and search only.
const orgTypeDocs = "Read and search only through the API: the organisation's practitioners, roles and organisations are written by those who manage its staff, in Haven."

// capabilityResources lists every type served, with exactly its
// interactions and search parameters.
func capabilityResources() []capability {
	var out []capability
	for _, name := range exportableTypes() {
		t := types[name]
		c := capability{Type: name, Versioning: "versioned-update", ReadHistory: true, ConditionalDelete: "not-supported",
			Interaction: []interaction{{"read"}, {"vread"}, {"history-instance"}, {"search-type"}}}
		switch {
		case t.subject == "":
			// The organisation's own records are written by whoever
			// manages its staff, in Haven: policy never grants that
			// (manage-staff) to a token, so none is listed.
			c.Documentation = orgTypeDocs
		case !t.readOnly:
			c.Interaction = append(c.Interaction, interaction{"create"}, interaction{"update"})
			if name != "Patient" {
				c.Interaction = append(c.Interaction, interaction{"delete"})
			}
			c.ConditionalCreate = true
		}
		if name == "Patient" {
			c.Profile = "https://fhir.hl7.org.uk/StructureDefinition/UKCore-Patient"
		} else if t.subject != "" {
			c.SearchInclude = []string{name + ":patient", name + ":subject"}
		}
		for _, p := range paramsFor(t) {
			c.SearchParam = append(c.SearchParam, paramDocs[p])
		}
		out = append(out, c)
	}
	// The audit log, read-only (fhir/auditevent.go), in name order.
	out = append(out, auditEventCapability())
	slices.SortFunc(out, func(a, b capability) int { return strings.Compare(a.Type, b.Type) })
	return out
}
