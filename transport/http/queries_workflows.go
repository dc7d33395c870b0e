package httpapi

import (
	"github.com/gin-gonic/gin"

	"github.com/edusmarthub/edusmarthub/commands"
	"github.com/edusmarthub/edusmarthub/sagas"
)

// workflowQueries: the status of the workflows (sagas), from the saga
// runtime's tables (no projection: the runtime writes them in the
// transaction that moves a workflow on, so they never lag it).
//
// A school's admins read the school's workflows; platform admins read any
// school's under the school's path, and every workflow, platform-wide ones
// (system maintenance) included, under /v1/workflows. A workflow of
// another school answers 404 under a school's path, as if it did not
// exist.
func (s *Server) workflowQueries(v1, school *gin.RouterGroup) {
	platform := roles(commands.RolePlatformAdmin)
	s.read(school, "/workflows", readAdmins, reads(), s.listSchoolWorkflows)
	s.read(school, "/workflows/:workflowId", readAdmins, reads(), s.getSchoolWorkflow)
	s.read(v1, "/workflows", platform, reads(), s.listAllWorkflows)
	s.read(v1, "/workflows/:workflowId", platform, reads(), s.getAnyWorkflow)
}

// workflowFilter reads ?type=&state=&subject=&cursor=&limit=.
func workflowFilter(p *params) sagas.WorkflowFilter {
	pp := p.page()
	return sagas.WorkflowFilter{
		Type: p.text("type"), State: p.text("state"), Subject: p.text("subject"),
		Cursor: pp.Cursor, Limit: pp.Limit,
	}
}

func (s *Server) listSchoolWorkflows(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := workflowFilter(p)
	if err := p.done(); err != nil {
		return nil, err
	}
	f.SchoolID = v.school
	return sagas.ListWorkflows(c, v.db, f)
}

func (s *Server) listAllWorkflows(c *gin.Context, v viewer) (any, error) {
	p := newParams(c)
	f := workflowFilter(p)
	f.SchoolID = p.id("schoolId")
	if err := p.done(); err != nil {
		return nil, err
	}
	return sagas.ListWorkflows(c, v.db, f)
}

func (s *Server) getSchoolWorkflow(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	id := idParam(c, "workflowId")
	w, err := sagas.GetWorkflow(c, v.db, id)
	if err != nil {
		return nil, err
	}
	if w.SchoolID != v.school {
		return nil, notVisible("workflow " + id)
	}
	return w, nil
}

func (s *Server) getAnyWorkflow(c *gin.Context, v viewer) (any, error) {
	if err := newParams(c).done(); err != nil {
		return nil, err
	}
	return sagas.GetWorkflow(c, v.db, idParam(c, "workflowId"))
}
